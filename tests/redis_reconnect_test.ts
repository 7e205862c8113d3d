/**
 * Invalidation across instances when a Redis connection was lost, on a
 * real `redis-server` with two in-process instances and the loopback
 * upstream: a drop announced while an instance's subscriber was away is
 * not missed (it demotes its memory tier on subscribing again, and
 * confirms memory copies with Redis while it is away), and a drop that could not
 * reach Redis is shared once it can.
 *
 * @module
 */

import type { TestApp } from "./fixtures/app.ts";
import assert from "node:assert/strict";
import {
  appGroup,
  cachedOnBoth,
  linkOf,
  metric,
  patchTitle,
  read,
  redisInstances,
  sharedCache,
} from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("REDIS_URL: Redis restarted: a write through A while it was down does not leave B serving its old memory copy", async () => {
  await using shared = await sharedCache(2);
  const { redis, apps: [a, b] } = shared;
  await cachedOnBoth(a, b, "/posts/1");
  await redis.stop();
  await until(() => !linkOf(a).up && !linkOf(b).up, "Redis down seen");
  // A cannot delete in Redis nor tell B: it drops its own copy, keeps
  // the drop for later and counts it.
  await patchTitle(a, "/posts/1", "changed");
  assert.equal((await read(a, "/posts/1")).body.title, "changed");
  assert.equal(await metric(a, "cache_invalidations_unshared_total"), 1);
  assert.equal(await metric(a, "cache_invalidations_pending"), 1);

  await redis.restart();
  await until(() => linkOf(a).up && linkOf(b).up, "Redis back");
  // B heard nothing, but subscribing again demoted its memory tier.
  const after = await read(b, "/posts/1");
  assert.equal(after.body.title, "changed");
  assert.equal(after.hit, false, "re-read, not B's old copy");
  assert.ok(await metric(b, "cache_redis_resyncs_total") >= 1);
  await until(
    async () => await metric(a, "cache_invalidations_pending") === 0,
    "A's drop shared once Redis is back",
  );
  // And B's new copy is a memory hit again.
  assert.equal((await read(b, "/posts/1")).body.title, "changed");
  assert.ok((await read(b, "/posts/1")).hit);
});

Deno.test("REDIS_URL: A cut off from Redis (a stalled link) while B and Redis keep the old entry: A's drop goes through once it can", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await using proxy = startTcpProxy({ port: redis.port });
  const common = ["--upstream-url", upstream.url, "--redis-timeout-ms", "300"];
  await using apps = appGroup<[TestApp, TestApp]>([
    (await redisInstances(1, [
      ...common,
      "--redis-url",
      `redis://127.0.0.1:${proxy.port}`,
    ]))[0],
    (await redisInstances(1, [...common, "--redis-url", redis.url]))[0],
  ]);
  const [a, b] = apps;
  await cachedOnBoth(a, b, "/posts/1");
  proxy.stall();
  // A's SCAN times out: nothing deleted in Redis, nothing announced.
  await patchTitle(a, "/posts/1", "changed");
  assert.equal(await redis.command("EXISTS", "async-api:cache:/posts/1"), 1);
  assert.notEqual((await read(b, "/posts/1")).body.title, "changed");
  assert.equal(await metric(a, "cache_invalidations_pending"), 1);

  proxy.resume();
  // Within a retry pause (1 s): deleted in Redis, B told.
  await until(
    async () => await redis.command("EXISTS", "async-api:cache:/posts/1") === 0,
    "A's drop reached Redis",
    5_000,
  );
  await until(
    async () => (await read(b, "/posts/1")).body.title === "changed",
    "B dropped its copy",
    5_000,
  );
  assert.equal((await read(a, "/posts/1")).body.title, "changed");
  assert.equal(await metric(a, "cache_invalidations_pending"), 0);
});

Deno.test("REDIS_URL: B's subscriber refused (its channels revoked) while its commands work: B confirms memory copies with Redis, and demotes them all on subscribing again", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  assert.equal(
    await redis.command(
      "ACL",
      "SETUSER",
      "b",
      "on",
      ">pw",
      "~*",
      "&*",
      "+@all",
    ),
    "OK",
  );
  const common = ["--upstream-url", upstream.url, "--redis-timeout-ms", "1000"];
  await using apps = appGroup<[TestApp, TestApp]>([
    (await redisInstances(1, [...common, "--redis-url", redis.url]))[0],
    (await redisInstances(1, [
      ...common,
      "--redis-url",
      `redis://b:pw@127.0.0.1:${redis.port}`,
    ]))[0],
  ]);
  const [a, b] = apps;
  await cachedOnBoth(a, b, "/posts/1");
  await cachedOnBoth(a, b, "/posts/2");
  // Redis closes B's subscriber, whose SUBSCRIBE is refused from now on.
  await redis.command("ACL", "SETUSER", "b", "resetchannels");
  await until(() => !linkOf(b).listening, "B's subscriber down");
  await patchTitle(a, "/posts/1", "changed");
  // Redis answers B's commands: its copy is checked there, found gone.
  assert.equal((await read(b, "/posts/1")).body.title, "changed");
  // A copy Redis still holds is served (from memory, confirmed).
  const kept = await read(b, "/posts/2");
  assert.notEqual(kept.body.title, "changed");
  assert.equal(await redis.command("EXISTS", "async-api:cache:/posts/2"), 1);

  await redis.command("ACL", "SETUSER", "b", "allchannels");
  await until(() => linkOf(b).listening, "B subscribed again");
  assert.ok(await metric(b, "cache_redis_resyncs_total") >= 1);
  // Its memory tier is demoted (kept for stale-if-error), served from
  // memory no more until Redis vouches for it when asked for.
  const store = b.app.cache.store;
  await until(() => store.peek?.("/posts/2") === undefined, "demoted");
  assert.equal(store.stats().entries, 2);
  assert.equal((await read(b, "/posts/2")).hit, true);
  assert.ok(store.peek?.("/posts/2"), "confirmed by Redis: in memory again");
  await patchTitle(a, "/posts/2", "changed too");
  await until(
    async () => (await read(b, "/posts/2")).body.title === "changed too",
    "B hears drops again",
    5_000,
  );
});

/** Kills every subscriber connection, again as soon as one is back. */
function keepKillingSubscribers(
  redis: { command(...args: string[]): Promise<unknown> },
) {
  let on = true;
  const loop = (async () => {
    while (on) {
      await redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

Deno.test("REDIS_URL: subscribers killed (CLIENT KILL TYPE pubsub) again and again during a write through A: B serves the new data once subscribed again", async () => {
  await using shared = await sharedCache(2);
  const { redis, apps: [a, b] } = shared;
  for (let round = 1; round <= 3; round++) {
    await cachedOnBoth(a, b, "/posts/1");
    // node-redis reconnects after its backoff (~50 ms) and is killed
    // again: the write's message most likely lands while B is away.
    const stop = keepKillingSubscribers(redis);
    await patchTitle(a, "/posts/1", `changed ${round}`);
    await stop();
    // Both subscribed anew on the server: B has seen its old socket
    // close; then its SUBSCRIBE reply ends the wait.
    await until(
      async () =>
        String(await redis.command("CLIENT", "LIST", "TYPE", "pubsub"))
          .split("\n").filter((line) => line.trim()).length === 2,
      "two subscribers again",
    );
    await until(() => linkOf(b).listening, "B subscribed again");
    assert.equal(
      (await read(b, "/posts/1")).body.title,
      `changed ${round}`,
      `round ${round}`,
    );
  }
  assert.ok(await metric(b, "cache_redis_resyncs_total") >= 3);
});
