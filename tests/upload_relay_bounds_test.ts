/**
 * The upload relay's bounds (`services/uploads/relay.ts`): one Redis
 * subscription per instance whatever the number of `?id=` streams, and a
 * Redis that stops answering (CLIENT PAUSE) neither slows nor fails an
 * upload, while the relay picks up again once Redis answers. Two instances
 * on one `DATA_DIR` and one real `redis-server`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { nextEvent } from "./fixtures/sse.ts";
import { until } from "./fixtures/until.ts";
import {
  CHUNK,
  newId,
  receivedOn,
  redisPair,
  slowBody,
  subscribe,
  untilEnding,
  upload,
} from "./fixtures/upload_events.ts";

const CHANNEL = "async-api:uploads:events";

Deno.test("REDIS_URL: 40 ?id= streams of unknown ids add no Redis subscription: one channel per instance", async () => {
  // No per-client cap: the 40 streams come from one address.
  await using pair = await redisPair("--max-upload-watchers-per-client", "0");
  const { a, redis } = pair;
  const channels = async () =>
    ((await redis.command("PUBSUB", "CHANNELS", "*")) as string[]).sort();
  const before = await channels();
  assert.ok(before.includes(CHANNEL), `channels: ${before}`);
  const abort = new AbortController();
  const streams: Response[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      streams.push(
        await fetch(`${a.url}/uploads/events?id=${newId()}`, {
          signal: abort.signal,
        }),
      );
    }
    assert.deepEqual(streams.map((res) => res.status), Array(40).fill(200));
    assert.equal(a.app.watchers.count, 40);
    assert.deepEqual(await channels(), before);
    assert.deepEqual(await redis.command("PUBSUB", "NUMSUB", CHANNEL), [
      CHANNEL,
      2,
    ]);
    assert.equal(await redis.command("PUBSUB", "NUMPAT"), 0);
  } finally {
    abort.abort();
    for (const res of streams) await res.body?.cancel().catch(() => {});
  }
});

Deno.test("REDIS_URL: Redis paused mid-upload: the upload is not slowed, B gets progress before and after, then done", async () => {
  // A command timeout of 200 ms: a paused Redis costs the relay that
  // once, then it skips publishing for a second at a time.
  await using pair = await redisPair("--redis-timeout-ms", "200");
  const { a, b, redis } = pair;
  const id = newId();
  const events = await subscribe(b.url, id, 20_000);
  // 40 chunks, 100 ms apart: ~3.9 s.
  const status = upload(a.url, id, slowBody(40, 100));
  // B has had progress through Redis before the pause (a 700 ms sleep
  // stood for this).
  await nextEvent(events, (e) => e.event === "progress");
  assert.equal(await redis.command("CLIENT", "PAUSE", "1500", "ALL"), "OK");
  // Redis holds every command until the pause ends: this PING says when.
  let paused = true;
  const resumed = redis.command("PING").finally(() => paused = false);
  // Not slowed: A, whose relay Redis holds, receives more of the body
  // while the pause lasts (its own list; no Redis in it). Before, an
  // elapsed time under 5.5 s stood for this: 6.3 s at load 20.
  const atPause = await receivedOn(a.url, id);
  let grewWhilePaused = false;
  await until(async () => {
    const received = await receivedOn(a.url, id);
    grewWhilePaused = paused && received >= atPause + 3 * CHUNK;
    return grewWhilePaused || !paused;
  }, "three chunks more, or the pause's end");
  assert.ok(grewWhilePaused, `stuck at ${atPause} bytes while Redis paused`);
  assert.equal(await resumed, "PONG");
  // After the pause: bytes A received only once Redis answered again.
  const atResume = await receivedOn(a.url, id);
  assert.equal(await status, 201);
  const { ending, progress } = await untilEnding(events);
  assert.equal(ending.event, "done");
  assert.equal(JSON.parse(ending.data).size, 40 * CHUNK);
  const late = progress.filter((p) => p.bytesReceived > atResume);
  assert.ok(late.length >= 1, `no progress past ${atResume} bytes`);
  const failures = a.records.filter((r) => r.msg === "uploads.relay_failed");
  assert.ok(failures.length <= 1, `${failures.length} failures logged`);
});

Deno.test("REDIS_URL: uploads heard of elsewhere are listed at most 1024 at once, and leave the list 3 s after their last message", async () => {
  await using pair = await redisPair();
  const { b, redis } = pair;
  // As a third instance would publish them: 1100 uploads in ten messages.
  const ids = Array.from({ length: 1100 }, newId);
  const started = new Date().toISOString();
  for (let at = 0; at < ids.length; at += 110) {
    const uploads = ids.slice(at, at + 110).map((id) => ({
      id,
      startedAt: started,
      elapsedMs: 10,
      bytesReceived: 1,
      bytesPerSecond: 1,
      bound: "read",
    }));
    const message = {
      from: "elsewhere",
      event: { type: "progress", uploads },
    };
    await redis.command("PUBLISH", CHANNEL, JSON.stringify(message));
  }
  const listed = async () => {
    const res = await fetch(`${b.url}/uploads`);
    return (await res.json()).items.length as number;
  };
  await until(async () => (await listed()) === 1024, "1024 listed");
  const heardAt = performance.now();
  await until(async () => (await listed()) === 0, "forgotten", 5_000);
  const after = performance.now() - heardAt;
  assert.ok(after > 2_000, `forgotten after ${Math.round(after)} ms`);
});
