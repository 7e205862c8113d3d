/**
 * The single-flight lock is released, and its key announced, even when the
 * owner's Redis connection was slow just before: found by a cold-key
 * stampede over three instances behind nginx (1,000 concurrent GETs on 10
 * keys at load 8), where one instance's Redis commands timed out (the
 * default `REDIS_TIMEOUT_MS`, 100 ms) while it held locks. Its link then
 * refuses commands for 1 s, so the compare-and-delete that releases the
 * lock and publishes the key was never sent: the other instances' waiters
 * heard nothing until the lock expired (`UPSTREAM_TIMEOUT_MS` + 1 s, 6 s)
 * and then loaded the key themselves (p99 6.3-7.4 s, 15-22 upstream
 * requests for 10 keys, 10 when no command timed out).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  linkOf,
  recordingLogger,
  redisInstances,
  sharedArgs,
} from "./fixtures/redis_apps.ts";
import { type RedisServer, startRedis } from "./fixtures/redis.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";

Deno.test("REDIS_URL: a lock owner whose Redis was slow a moment ago still releases the lock, so waiters elsewhere do not wait out its life", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  // The owner has the default command timeout; the waiter a generous one,
  // so only the owner's link is found slow.
  await using owners = await redisInstances(1, [
    "--upstream-url",
    upstream.url,
    "--redis-url",
    redis.url,
    "--redis-timeout-ms",
    "100",
  ]);
  const [owner] = owners;
  // The waiter logs (debug) how its wait ended.
  const { logger, records } = recordingLogger({ level: "debug" });
  await using waiters = await redisInstances(
    1,
    sharedArgs(upstream.url, redis.url),
    logger,
  );
  const [waiter] = waiters;
  // Lock life: UPSTREAM_TIMEOUT_MS (5 s default) + 1 s.
  upstream.setFault("/posts/1", { delayMs: 1_000 });
  const owned = owner.get("/posts/1");
  // The owner loads it, so it holds the lock.
  await upstream.waitForRequests(1, "/posts/1");
  const waited = waiter.get("/posts/1");
  // The waiter asked for the lock too (a second SET NX), and waits.
  await until(async () => await setCalls(redis) >= 2, "the waiter's SET NX");
  // Redis stalls for 300 ms; a command of the owner's times out in it,
  // so its link holds back commands for the next second: when its load
  // of /posts/1 ends (1 s after it began), that is still so.
  assert.equal(await redis.command("CLIENT", "PAUSE", "300", "ALL"), "OK");
  const other = await owner.get("/posts/2");
  assert.equal(other.status, 200);
  await other.body?.cancel();
  assert.ok(linkOf(owner!).timeouts >= 1, "a command of the owner timed out");
  assert.equal(linkOf(owner!).usable, false, "the owner's link is paused");

  const first = await owned;
  assert.equal(first.status, 200);
  await first.body?.cancel();
  assert.deepEqual(
    await redis.command("KEYS", "async-api:lock:*"),
    [],
    "the owner released its lock",
  );
  const second = await waited;
  assert.equal(second.status, 200);
  await second.body?.cancel();
  // Woken by the release (then it loads by itself, as the owner could not
  // store the entry): its announcement, or, when the release lands just as
  // the waiter polls, the lock found gone. Either is the release's doing:
  // the lock was gone (asserted above) some 5 s before its life ran out.
  // Not the wait running out, nor a link given up on.
  const waits = records()
    .filter((record) => record.msg === "cache.flight_wait");
  assert.equal(waits.length, 1, JSON.stringify(waits));
  assert.equal(waits[0]!.key, "/posts/1");
  assert.ok(
    ["announced", "lock_gone"].includes(String(waits[0]!.ended)),
    JSON.stringify(waits[0]),
  );
});

/** How many SET commands `redis` has run (`INFO commandstats`). */
async function setCalls(redis: RedisServer): Promise<number> {
  const info = String(await redis.command("INFO", "commandstats"));
  return Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0);
}
