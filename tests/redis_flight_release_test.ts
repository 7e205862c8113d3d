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

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { linkOf, redisInstances, sharedArgs } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

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
  await using waiters = await redisInstances(
    1,
    sharedArgs(upstream.url, redis.url),
  );
  const [waiter] = waiters;
  // Lock life: UPSTREAM_TIMEOUT_MS (5 s default) + 1 s.
  upstream.setFault("/posts/1", { delayMs: 1_000 });
  const started = performance.now();
  const owned = owner.get("/posts/1");
  await sleep(150);
  const waited = waiter.get("/posts/1");
  await sleep(150);
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
  const waitedMs = performance.now() - started;
  assert.equal(second.status, 200);
  await second.body?.cancel();
  // Woken by the announcement (then it loads by itself, as the owner
  // could not store the entry), not at the lock's expiry 6 s in.
  assert.ok(waitedMs < 4_000, `the waiter answered after ${waitedMs} ms`);
});
