/**
 * Tests of the upload events relayed between instances over Redis
 * (`REDIS_URL`, `services/uploads/relay.ts`): two instances on one
 * `DATA_DIR`, as the workers of `deno serve --parallel` are, and one real
 * `redis-server`. A subscriber of `?id=` on one instance gets the progress
 * and the ending of an upload running on the other, `GET /uploads` lists
 * it, and with Redis stopped uploads still succeed while subscribers fall
 * back to the storage poll. Before the relay, such a subscriber got no
 * `progress` at all (the upload page's bar stood still for about half the
 * uploads under `--parallel` with 2 workers), and never a `failed`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  CHUNK,
  newId,
  redisPair,
  slowBody,
  subscribe,
  trackedSlowBody,
  untilEnding,
  upload,
} from "./fixtures/upload_events.ts";
import { nextEvent } from "./fixtures/sse.ts";
import { until } from "./fixtures/until.ts";

Deno.test("REDIS_URL: a subscriber on B gets progress, then done, of an upload on A", async () => {
  await using pair = await redisPair();
  const { a, b } = pair;
  const id = newId();
  const events = await subscribe(b.url, id, 15_000);
  // 24 chunks, 100 ms apart: ~2.3 s, nine or so progress ticks.
  const status = upload(a.url, id, slowBody(24, 100));
  const { ending, progress } = await untilEnding(events);
  assert.equal(await status, 201);
  assert.ok(progress.length >= 3, `${progress.length} progress events`);
  assert.ok(progress.every((p) => p.id === id));
  const bytes = progress.map((p) => p.bytesReceived);
  assert.deepEqual(bytes, [...bytes].sort((x, y) => x - y), "in order");
  assert.ok(bytes.at(-1)! > bytes[0]!, "progress moves");
  assert.equal(ending.event, "done");
  assert.equal(ending.id, "ended");
  const done = JSON.parse(ending.data);
  assert.equal(done.id, id);
  assert.equal(done.size, 24 * CHUNK);
  // The upload's own result, figures included, not the storage's facts.
  assert.equal(typeof done.durationMs, "number");
  assert.ok(done.bound === "read" || done.bound === "write");
  assert.equal((await events.next()).done, true, "the stream ends");
});

Deno.test("REDIS_URL: an upload failing on A (over MAX_UPLOAD_BYTES) is failed on B", async () => {
  const max = String(10 * CHUNK);
  await using pair = await redisPair("--max-upload-bytes", max);
  const { a, b } = pair;
  const id = newId();
  const events = await subscribe(b.url, id, 15_000);
  // Chunked, so admitted: it fails at its 11th chunk, after ~1 s.
  const { body, ended } = trackedSlowBody(20, 100);
  const status = await upload(a.url, id, body);
  assert.equal(status, 413);
  // The client sends on until the service lets go of the body.
  await ended;
  const { ending, progress } = await untilEnding(events);
  assert.ok(progress.length >= 1, `${progress.length} progress events`);
  assert.equal(ending.event, "failed");
  assert.equal(ending.id, "ended");
  const failed = JSON.parse(ending.data);
  assert.equal(failed.id, id);
  assert.equal(failed.outcome, "too_large");
  assert.equal(failed.status, 413);
  assert.equal((await events.next()).done, true, "the stream ends");
});

Deno.test("REDIS_URL: GET /uploads on B lists an upload running on A, then no more", async () => {
  await using pair = await redisPair();
  const { a, b } = pair;
  const id = newId();
  const listed = async () => {
    const res = await fetch(`${b.url}/uploads`);
    const { items } = await res.json();
    return (items as { id: string; bytesReceived: number }[])
      .find((item) => item.id === id);
  };
  const status = upload(a.url, id, slowBody(20, 100));
  let seen: { bytesReceived: number } | undefined;
  await until(async () => (seen = await listed()) !== undefined, "listed");
  assert.ok(seen!.bytesReceived > 0);
  assert.equal(await status, 201);
  // Its ending takes it off every instance's list.
  await until(async () => (await listed()) === undefined, "unlisted", 2_000);
});

Deno.test("REDIS_URL: Redis stopped mid-upload: the upload succeeds, B's subscriber gets done from the storage", async () => {
  // A's Redis commands wait up to a minute: an upload that waited on
  // Redis would hang, caught by the upload's generous bound (a hang
  // detector; the body takes 3 s).
  await using pair = await redisPair("--redis-timeout-ms", "60000");
  const { a, b, redis } = pair;
  const id = newId();
  const events = await subscribe(b.url, id, 20_000);
  const status = upload(
    a.url,
    id,
    slowBody(30, 100),
    AbortSignal.timeout(45_000),
  );
  // Relayed while Redis runs.
  const first = await nextEvent(events, (e) => e.event !== "");
  assert.equal(first.event, "progress");
  await redis.stop();
  assert.equal(await status, 201);
  const { ending } = await untilEnding(events);
  assert.equal(ending.event, "done");
  assert.equal(JSON.parse(ending.data).size, 30 * CHUNK);
  // And a new upload with Redis down.
  const late = newId();
  const lateEvents = await subscribe(b.url, late, 10_000);
  assert.equal(await upload(a.url, late, slowBody(3, 10)), 201);
  assert.equal((await untilEnding(lateEvents)).ending.event, "done");
});
