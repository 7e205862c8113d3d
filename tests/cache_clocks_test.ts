/**
 * The cache when clocks are not what it assumed: instances sharing a real
 * `redis-server` whose wall clocks differ by 30 s and by 10 min, and one
 * instance whose wall clock steps an hour back and forward while it runs.
 * The service runs as a child process under libfaketime (Debian
 * `faketime`), which shifts its wall clock only: its monotonic clock is
 * the host's (`FAKETIME_DONT_FAKE_MONOTONIC`), as when NTP steps a clock.
 * Each entry must be fresh for the TTL from when it was stored, whoever
 * stored it and whatever the clocks say.
 *
 * @module
 */

import assert from "node:assert/strict";
import { silentLogger } from "../services/ops/logger.ts";
import { RedisHealth } from "../services/redis/redis_health.ts";
import { libfaketime, steppedClock } from "./fixtures/libfaketime.ts";
import { startRedis } from "./fixtures/redis.ts";
import { type SpawnedService, spawnService } from "./fixtures/spawn.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";

const TTL_SECONDS = 2;
const HOUR_MS = 3_600_000;

/** What a cached GET answered: its status, `Age`, `Cache-Status`. */
interface Looked {
  status: number;
  age: number;
  cacheStatus: string;
  /** The request's log record's time: the service's wall clock. */
  loggedAt: number;
}

/** GETs `path` from `service` (with `headers`), body discarded. */
async function look(
  service: SpawnedService,
  path: string,
  headers: Record<string, string> = {},
): Promise<Looked> {
  const res = await fetch(service.url + path, { headers });
  await res.body?.cancel();
  // Not `Date`: the runtime's, made once a second, stays put for the hour
  // after a step back.
  const id = res.headers.get("x-request-id");
  const logged = await service.waitForLine((record) =>
    record.msg === "request" && record.requestId === id
  );
  return {
    status: res.status,
    age: Number(res.headers.get("age")),
    cacheStatus: res.headers.get("cache-status") ?? "",
    loggedAt: Date.parse(String(logged.time)),
  };
}

/**
 * GETs `path` from `service` until it is no longer a fresh hit, and
 * resolves that answer: the wait ends when the service says the entry
 * went stale, not after a sleep past the TTL. Still a hit 300 ms past the
 * TTL (what the sleep it replaces allowed): rejects.
 */
async function firstNotHit(
  service: SpawnedService,
  path: string,
): Promise<Looked> {
  let looked: Looked | undefined;
  await until(
    async () => {
      looked = await look(service, path);
      return !/; hit/.test(looked.cacheStatus);
    },
    `${path} no longer a hit`,
    TTL_SECONDS * 1000 + 300,
  );
  return looked!;
}

/** The service with `args`, its wall clock set by `clock` (faketime). */
async function serviceWithClock(
  args: string[],
  clock: Record<string, string>,
): Promise<SpawnedService> {
  return await spawnService(args, {
    env: {
      LD_PRELOAD: await libfaketime(),
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
      ...clock,
    },
  });
}

/** Resolves once `service` says its Redis connection is up. */
async function redisUp(service: SpawnedService): Promise<void> {
  await service.waitForLine((record) => record.msg === "cache.redis_up");
}

Deno.test("REDIS_URL: instances whose clocks differ by 30 s or 10 min count an entry the other stored by its age, not by their clocks", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  const args = [
    "--upstream-url",
    upstream.url,
    "--redis-url",
    redis.url,
    "--redis-timeout-ms",
    "1000",
    "--cache-ttl-seconds",
    String(TTL_SECONDS),
  ];
  await using a = await spawnService(args);
  await redisUp(a);
  for (const [offset, id] of [["+30s", 1], ["+10m", 3]] as const) {
    await using b = await serviceWithClock(args, { FAKETIME: offset });
    await redisUp(b);
    const skew = (await look(b, "/healthz")).loggedAt - Date.now();
    assert.ok(skew > 20_000, `B's clock is ${offset}: ${skew} ms`);

    // Stored by A, read by B (ahead): as old as it is, fresh. On main B
    // found it 30 s or 10 min old, past the TTL: stale at once.
    const first = `/posts/${id}`;
    assert.match((await look(a, first)).cacheStatus, /fwd=miss; stored/);
    const ahead = await look(b, first);
    assert.match(ahead.cacheStatus, /; hit; ttl=/, `${offset}: B`);
    assert.ok(ahead.age <= 1, `${offset}: B's Age ${ahead.age}`);
    const etag = (await fetch(b.url + first).then(async (res) => {
      await res.body?.cancel();
      return res.headers.get("etag");
    }))!;
    const notModified = await look(b, first, { "if-none-match": etag });
    assert.equal(notModified.status, 304);
    assert.match(notModified.cacheStatus, /; hit; ttl=/);
    assert.ok(notModified.age <= 1, `${offset}: 304's Age`);
    assert.equal(upstream.hits(first), 1);

    // Stored by B, read by A (behind it): fresh for the TTL, then stale.
    // On main A served it as a fresh hit, `Age: 0`, for the skew + TTL.
    const second = `/posts/${id + 1}`;
    assert.match((await look(b, second)).cacheStatus, /fwd=miss; stored/);
    const behind = await look(a, second);
    assert.match(behind.cacheStatus, /; hit; ttl=/, `${offset}: A`);
    assert.ok(behind.age <= 1, `${offset}: A's Age ${behind.age}`);
    const later = await firstNotHit(a, second);
    assert.match(later.cacheStatus, /fwd=stale/, `${offset}: A after TTL`);
    assert.ok(later.age >= TTL_SECONDS, `${offset}: A's Age ${later.age}`);
  }
});

Deno.test("an instance whose wall clock steps an hour back, then forward, keeps each entry fresh for the TTL: no longer, no shorter", async () => {
  await using clock = await steppedClock();
  await using upstream = startFixtureUpstream();
  await using service = await spawnService([
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    String(TTL_SECONDS),
  ], { env: clock.env });

  assert.match((await look(service, "/posts/1")).cacheStatus, /fwd=miss/);
  await clock.step("-1h");
  const stepped = await look(service, "/posts/1");
  assert.ok(Date.now() - stepped.loggedAt > HOUR_MS - 10_000, "stepped");
  assert.match(stepped.cacheStatus, /; hit; ttl=/);
  // On main: a hit, `Age: 0`, for an hour more.
  const past = await firstNotHit(service, "/posts/1");
  assert.doesNotMatch(past.cacheStatus, /; hit/);
  assert.ok(past.age >= TTL_SECONDS, `Age ${past.age}`);

  assert.match((await look(service, "/posts/2")).cacheStatus, /fwd=miss/);
  await clock.step("+1h");
  // On main: an hour old at once (past every window: loaded again).
  const forward = await look(service, "/posts/2");
  assert.ok(forward.loggedAt - Date.now() > HOUR_MS - 10_000, "stepped");
  assert.match(forward.cacheStatus, /; hit; ttl=/);
  assert.ok(forward.age <= 1, `Age ${forward.age}`);
  assert.equal(upstream.hits("/posts/2"), 1);
});

Deno.test("Redis is left alone 1 s after a slow command, not an hour more when the wall clock steps back meanwhile", async () => {
  const wall = Date.now;
  const health = new RedisHealth({
    logger: silentLogger,
    url: "redis://127.0.0.1:6379",
    timeoutMs: 100,
  });
  try {
    health.timedOut();
    assert.equal(health.slow, true);
    // The step (NTP, a VM resumed), as this process's wall clock sees it.
    Date.now = () => wall.call(Date) - HOUR_MS;
    // On main every command was skipped (a miss) for the hour.
    await until(() => !health.slow, "Redis asked again", 1_200);
  } finally {
    Date.now = wall;
  }
});
