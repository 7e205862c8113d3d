/**
 * An instance killed (`kill -9`: OOM, a node lost) while it held the
 * single-flight lock of a key: the other instances sharing the Redis waited
 * out the lock's whole life (`UPSTREAM_TIMEOUT_MS` + 1 s, 6 s by default)
 * before loading the key themselves, each request of that key meanwhile.
 * The lock is now a lease its owner renews while it loads, so a dead
 * owner's lock is gone within 2 s, and the waiters load the key then.
 *
 * @module
 */

import assert from "node:assert/strict";
import { redisInstances, sharedArgs } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("REDIS_URL: an instance killed while it loads a key holds it up elsewhere for the lock's lease (2 s), not the upstream budget (6 s)", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  // The default upstream budget, 5 s: the lock lived 6 s.
  const args = sharedArgs(upstream.url, redis.url);
  await using doomed = await spawnService(args);
  await using apps = await redisInstances(1, args);
  const [other] = apps;
  // The doomed instance takes the lock and waits on a slow upstream.
  upstream.setFault("/posts/7", { delayMs: 4_000 });
  const lost = fetch(`${doomed.url}/posts/7`).catch((error) => error);
  await upstream.waitForRequests(1, "/posts/7");
  doomed.kill("SIGKILL");
  await doomed.status;
  assert.ok((await lost) instanceof Error);
  // The dead owner's lock has its lease left at most (2 s), not the rest
  // of the upstream budget (6 s): read off Redis, not timed.
  const locks = await redis.command("KEYS", "async-api:lock:*");
  assert.ok(Array.isArray(locks) && locks.length === 1, String(locks));
  const left = Number(await redis.command("PTTL", String(locks[0])));
  assert.ok(left > 0 && left <= 2_000, `the lock lives ${left} ms more`);
  upstream.clearFaults();
  const res = await other.get("/posts/7");
  assert.equal(res.status, 200);
  assert.equal((await res.json()).id, 7);
  assert.equal(upstream.hits("/posts/7"), 2);
});
