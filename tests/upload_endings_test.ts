/**
 * Tests of the memory of recent upload endings
 * (`services/uploads/endings.ts`): a subscriber of `GET /uploads/events?id=`
 * who comes after the upload ended gets its ending at once and the stream
 * ends, in the process where it ran and, with `REDIS_URL`, in any instance
 * (a key with a TTL in Redis), including an instance that was not running
 * when the ending was relayed, and an ending met while Redis was away
 * (written once Redis is back). Before, a `failed` upload left no trace: a
 * late subscriber heard nothing, its stream open until it left (the storage
 * poll finds stored files only).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startRedis } from "./fixtures/redis.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { nextEvent } from "./fixtures/sse.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import {
  CHUNK,
  linkUp,
  newId,
  redisPair,
  slowBody,
  subscribe,
  upload,
} from "./fixtures/upload_events.ts";
import { until } from "./fixtures/until.ts";

const TOO_LARGE = ["--max-upload-bytes", String(4 * CHUNK)];

/** The first named event of `?id=` on `origin`; asserts the stream ends. */
async function lateEnding(
  origin: string,
  id: string,
  ms: number,
): Promise<
  { event: string; id: string | undefined; data: Record<string, unknown> }
> {
  const events = await subscribe(origin, id, ms);
  const ending = await nextEvent(events, (e) => e.event !== "");
  assert.equal((await events.next()).done, true, "the stream ends");
  return { event: ending.event, id: ending.id, data: JSON.parse(ending.data) };
}

Deno.test("a subscriber coming after an upload failed here gets failed at once, and the stream ends", async () => {
  await using one = await serveApp({ args: TOO_LARGE });
  const id = newId();
  assert.equal(await upload(one.url, id, slowBody(8, 1)), 413);
  // A failed upload is stored nowhere: without its ending kept, the
  // stream stays silent (a hang, caught by the generous bound).
  const ending = await lateEnding(one.url, id, 30_000);
  assert.equal(ending.event, "failed");
  assert.equal(ending.id, "ended");
  assert.equal(ending.data.id, id);
  assert.equal(ending.data.outcome, "too_large");
  assert.equal(ending.data.status, 413);
  assert.equal(one.app.watchers.count, 0);
});

Deno.test("a subscriber coming after an upload was stored here gets its own done at once", async () => {
  await using one = await serveApp({});
  const id = newId();
  assert.equal(await upload(one.url, id, slowBody(3, 1)), 201);
  const ending = await lateEnding(one.url, id, 3_000);
  assert.equal(ending.event, "done");
  assert.equal(ending.data.size, 3 * CHUNK);
  // The upload's own figures, not only the storage's facts.
  assert.equal(typeof ending.data.durationMs, "number");
});

Deno.test("REDIS_URL: an instance started after an upload failed on another gets failed for it", () =>
  withTempDir(async (dir) => {
    await using redis = await startRedis();
    const args = ["--redis-url", redis.url, "--redis-timeout-ms", "1000"];
    await using a = await serveApp({
      dataDir: dir,
      args: args.concat(TOO_LARGE),
    });
    await until(() => linkUp(a), "Redis connected");
    const id = newId();
    assert.equal(await upload(a.url, id, slowBody(8, 1)), 413);
    // Written at the ending, with a TTL.
    await until(
      async () =>
        (await redis.command("KEYS", "*ended*") as string[]).length === 1,
      "key written",
    );
    const ttl = await redis.command("PTTL", `async-api:uploads:ended:${id}`);
    assert.ok(
      typeof ttl === "number" && ttl > 0 && ttl <= 60_000,
      `PTTL ${ttl}`,
    );
    // B never heard the relayed message: it comes now.
    await using b = await serveApp({ dataDir: dir, args });
    await until(() => linkUp(b), "Redis connected");
    const ending = await lateEnding(b.url, id, 5_000);
    assert.equal(ending.event, "failed");
    assert.equal(ending.data.outcome, "too_large");
    assert.equal(ending.data.status, 413);
  }));

Deno.test("REDIS_URL: a subscriber on B coming after an upload failed on A gets failed at once", async () => {
  await using pair = await redisPair(...TOO_LARGE);
  const { a, b } = pair;
  const id = newId();
  assert.equal(await upload(a.url, id, slowBody(8, 1)), 413);
  // B recalls it (relayed) or reads it from Redis; else the stream stays
  // silent (a hang, caught by the generous bound).
  const ending = await lateEnding(b.url, id, 30_000);
  assert.equal(ending.event, "failed");
  assert.equal(ending.data.id, id);
});

Deno.test("REDIS_URL: an upload failing on A while Redis is away reaches B's subscriber once Redis is back", async () => {
  await using pair = await redisPair(...TOO_LARGE);
  const { a, b, redis } = pair;
  const id = newId();
  const events = await subscribe(b.url, id, 20_000);
  await redis.stop();
  assert.equal(await upload(a.url, id, slowBody(8, 1)), 413);
  await redis.restart();
  const ending = await nextEvent(events, (e) => e.event !== "");
  assert.equal(ending.event, "failed");
  assert.equal(ending.id, "ended");
  assert.equal(JSON.parse(ending.data).outcome, "too_large");
  assert.equal((await events.next()).done, true, "the stream ends");
});
