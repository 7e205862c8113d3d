/**
 * A path to Redis that goes silent (no FIN, no RST: a NAT or firewall that
 * dropped its state, a host gone without a reset), on a real `redis-server`
 * with two in-process instances: A connected directly, B through a loopback
 * relay switched to a blackhole (tests/fixtures/tcp_proxy.ts). Before the
 * liveness PINGs, B kept believing it was subscribed and served its memory
 * copy after a write through A until the entry's TTL; now it stops trusting
 * memory within seconds, drops it once the subscriber is found silent,
 * and comes back when the path heals or a new one replaces it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TestApp } from "./fixtures/app.ts";
import {
  appGroup,
  cachedOnBoth,
  linkOf,
  metric,
  patchTitle,
  read,
  recordingLogger,
  redisInstances,
  sharedArgs,
} from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";
import { startTcpProxy, type TcpProxy } from "./fixtures/tcp_proxy.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** Detection takes two PING periods (1 s each): bounds with room. */
const DETECTED_MS = 10_000;

/** A on Redis, B through `proxy`; B's log recorded. */
async function pair(upstreamUrl: string, redisUrl: string, proxy: TcpProxy) {
  const { logger, msgs } = recordingLogger();
  const apps = appGroup<[TestApp, TestApp]>([
    (await redisInstances(1, sharedArgs(upstreamUrl, redisUrl)))[0],
    (await redisInstances(
      1,
      sharedArgs(upstreamUrl, `redis://127.0.0.1:${proxy.port}`),
      logger,
    ))[0],
  ]);
  return {
    a: apps[0],
    b: apps[1],
    msgs,
    [Symbol.asyncDispose]: () => apps[Symbol.asyncDispose](),
  };
}

/** The path dies: B must not serve its old copy past detection. */
async function writeWhileSilent(a: TestApp, b: TestApp, proxy: TcpProxy) {
  await cachedOnBoth(a, b, "/posts/1");
  proxy.stall();
  // The write lands before B can know: its old copy may be served until
  // the subscriber is found silent, not after.
  await patchTitle(a, "/posts/1", "changed");
  await until(
    async () => (await read(b, "/posts/1")).body.title === "changed",
    "B stops serving its old copy",
    DETECTED_MS,
  );
  assert.equal(linkOf(b).listening, false);
  await until(
    async () => await metric(b, "cache_redis_silent_connections_total") >= 1,
    "B's silent connections counted",
    DETECTED_MS,
  );
  // Still answered while the path stays dead: from the upstream, then
  // from memory (B's own copy, loaded after the loss).
  const again = await read(b, "/posts/1");
  assert.equal(again.body.title, "changed");
  assert.ok(again.hit, "B's own copy, from memory");
  await read(b, "/posts/2");
}

/** B hears A's drops again, and trusts its memory again. */
async function hearsAgain(a: TestApp, b: TestApp, title: string) {
  await until(() => linkOf(b).listening && linkOf(b).up, "B back", 10_000);
  assert.ok(await metric(b, "cache_redis_resyncs_total") >= 1);
  await cachedOnBoth(a, b, "/posts/1");
  await patchTitle(a, "/posts/1", title);
  await until(
    async () => (await read(b, "/posts/1")).body.title === title,
    "B hears drops again",
    5_000,
  );
  assert.ok((await read(b, "/posts/1")).hit, "and caches in memory again");
}

Deno.test("REDIS_URL: B's path to Redis goes silent (blackhole relay) while A writes: B stops serving its old copy within seconds, logs it once, and recovers when the path heals", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await using proxy = startTcpProxy({ port: redis.port });
  await using scene = await pair(upstream.url, redis.url, proxy);
  const { a, b, msgs } = scene;
  await writeWhileSilent(a, b, proxy);
  // Replaced again every ~2 s while the path stays dead (new handshakes
  // hang too), logged once.
  await until(
    async () => await metric(b, "cache_redis_silent_connections_total") >= 3,
    "replaced connections hang too",
    DETECTED_MS,
  );
  assert.equal(await metric(b, "cache_redis_up"), 0);
  assert.equal(msgs().filter((m) => m === "cache.redis_down").length, 1);

  proxy.resume();
  await hearsAgain(a, b, "changed again");
  // At start, and once back.
  assert.equal(msgs().filter((m) => m === "cache.redis_up").length, 2);
});

Deno.test("REDIS_URL: B's path to Redis goes silent and a new path replaces it (its old connections never answer): B moves to the new one", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await using proxy = startTcpProxy({ port: redis.port });
  await using scene = await pair(upstream.url, redis.url, proxy);
  const { a, b } = scene;
  await writeWhileSilent(a, b, proxy);
  // As a NAT that forgot its flows: the old connections stay open and
  // silent for good, new ones reach Redis.
  await proxy.abandon();
  await using next = startTcpProxy({
    port: redis.port,
    listenPort: proxy.port,
  });
  await hearsAgain(a, b, "changed again");
  assert.equal(next.stalled, false);
});

Deno.test("REDIS_URL: with a healthy path, the liveness PINGs replace nothing and B keeps trusting its memory", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await using proxy = startTcpProxy({ port: redis.port });
  await using scene = await pair(upstream.url, redis.url, proxy);
  const { a, b } = scene;
  await cachedOnBoth(a, b, "/posts/1");
  // Three PING periods, each answered.
  const pings = async () =>
    Number(
      String(await redis.command("INFO", "commandstats"))
        .match(/cmdstat_ping:calls=(\d+)/)?.[1] ?? 0,
    );
  const before = await pings();
  await until(async () => await pings() >= before + 6, "PINGs answered");
  assert.ok((await read(b, "/posts/1")).hit);
  assert.equal(linkOf(b).listening, true);
  assert.equal(await metric(b, "cache_redis_silent_connections_total"), 0);
});
