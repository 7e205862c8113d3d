/**
 * Benchmarks of the shared Redis cache tier (issue 10), on a real
 * `redis-server`:
 *
 * 1. `redis`: cached `GET /posts/:id` served from Redis with a cold
 *    in-process tier against the in-memory hit. Two services share one
 *    Redis; one keeps the default `CACHE_MAX_BYTES`, the other the least
 *    allowed (1 KiB: no room for the keys in turn), so its answers come from
 *    Redis. `wrk -t1 -c64` cycles over 100 posts for both, interleaved, the
 *    median of the rounds counts; Redis's own `keyspace_hits` tell how many
 *    requests it served.
 * 2. `stampede`: 100 concurrent requests for one uncached key spread over
 *    3 instances sharing Redis, the upstream (the loopback fixture) slowed
 *    to answer after a delay: how many upstream requests (target 1) and the
 *    clients' p99 wait, for a few keys in turn.
 *
 * @module
 */

import { startJsonPlaceholder } from "../tests/fixtures/jsonplaceholder.ts";
import { startRedis } from "../tests/fixtures/redis.ts";
import { startFixtureUpstream } from "../tests/fixtures/upstream.ts";
import {
  type BenchServer,
  median,
  serviceCommand,
  startServer,
  wrk,
  type WrkResult,
} from "./lib.ts";

/** Lua for wrk: request `/posts/1` ... `/posts/100` in turn. */
const CYCLE_SCRIPT = `counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/posts/" .. ((counter % 100) + 1))
end
`;
const KEYS = 100;

/** Medians of one side's wrk rounds. */
export interface TierFigures {
  requestsPerSecond: number;
  latencyP99Ms: number | undefined;
  /** Redis GET hits per request during these rounds. */
  redisHitsPerRequest: number;
  /** Requests, non-2xx/3xx answers and socket errors over all rounds. */
  requests: number;
  non2xx: number;
  errors: number;
}

/** Figures of the Redis-tier benchmark. */
export interface RedisTierResult {
  memory: TierFigures;
  redis: TierFigures;
  /** redis / memory requests per second. */
  ratio: number;
  connections: number;
  seconds: number;
  rounds: number;
  keys: number;
  /** `CACHE_MAX_BYTES` of the service whose answers come from Redis. */
  coldCacheMaxBytes: number;
}

/** Figures of the stampede benchmark. */
export interface StampedeResult {
  clients: number;
  instances: number;
  upstreamDelayMs: number;
  /** Per key: upstream requests and the clients' p99 / max wait, ms. */
  rounds: {
    path: string;
    upstreamRequests: number;
    p99Ms: number;
    maxMs: number;
    statuses: Record<string, number>;
  }[];
}

function serviceArgs(upstream: string, redisUrl: string, extra: string[] = []) {
  return serviceCommand([
    "--upstream-url",
    upstream,
    "--redis-url",
    redisUrl,
    "--cache-ttl-seconds",
    "3600",
    ...extra,
  ]);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function redisHits(redis: { command(...a: string[]): Promise<unknown> }) {
  const info = String(await redis.command("INFO", "stats"));
  return Number(/keyspace_hits:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function warm(server: BenchServer): Promise<void> {
  for (let id = 1; id <= KEYS; id++) {
    const res = await fetch(`${server.url}/posts/${id}`);
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`warm-up got ${res.status}`);
  }
}

/** Runs the Redis-tier benchmark. */
export async function benchRedisTier(
  options: { connections?: number; seconds?: number; rounds?: number } = {},
): Promise<RedisTierResult> {
  const { connections = 64, seconds = 3, rounds = 3 } = options;
  const coldCacheMaxBytes = 1024;
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  try {
    await Deno.writeTextFile(script, CYCLE_SCRIPT);
    await using upstream = await startJsonPlaceholder();
    await using redis = await startRedis();
    await using memory = await startServer(
      serviceArgs(upstream.url, redis.url),
    );
    await using cold = await startServer(
      serviceArgs(upstream.url, redis.url, [
        "--cache-max-bytes",
        String(coldCacheMaxBytes),
      ]),
    );
    await warm(memory);
    await warm(cold);
    await wrk(`${memory.url}/`, { connections, seconds: 1, script });
    await wrk(`${cold.url}/`, { connections, seconds: 1, script });
    const runs = { memory: [] as WrkResult[], redis: [] as WrkResult[] };
    const hits = { memory: [] as number[], redis: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2
        ? ["redis", "memory"] as const
        : ["memory", "redis"] as const;
      for (const side of order) {
        const server = side === "memory" ? memory : cold;
        const before = await redisHits(redis);
        const run = await wrk(`${server.url}/`, {
          connections,
          seconds,
          script,
        });
        // Not checkWrk: on a loaded machine a Redis read past
        // REDIS_TIMEOUT_MS is a miss that goes upstream, and an overloaded
        // upstream queue answers 503. That is the design; it is reported.
        runs[side].push(run);
        hits[side].push(((await redisHits(redis)) - before) / run.requests);
      }
    }
    const figures = (side: "memory" | "redis"): TierFigures => {
      const p99 = runs[side].map((r) => r.latencyP99Ms).filter((v) =>
        v !== undefined
      );
      return {
        requestsPerSecond: median(runs[side].map((r) => r.requestsPerSecond)),
        latencyP99Ms: p99.length ? median(p99) : undefined,
        redisHitsPerRequest: median(hits[side]),
        requests: sum(runs[side].map((r) => r.requests)),
        non2xx: sum(runs[side].map((r) => r.non2xx)),
        errors: sum(runs[side].map((r) => r.errors)),
      };
    };
    const result = { memory: figures("memory"), redis: figures("redis") };
    return {
      ...result,
      ratio: result.redis.requestsPerSecond / result.memory.requestsPerSecond,
      connections,
      seconds,
      rounds,
      keys: KEYS,
      coldCacheMaxBytes,
    };
  } finally {
    await Deno.remove(script);
  }
}

async function timedGet(url: string): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const res = await fetch(url);
  await res.body?.cancel();
  return { ms: performance.now() - started, status: res.status };
}

/** Runs the stampede benchmark. */
export async function benchStampede(
  options: {
    clients?: number;
    instances?: number;
    upstreamDelayMs?: number;
    rounds?: number;
  } = {},
): Promise<StampedeResult> {
  const { clients = 100, instances = 3, upstreamDelayMs = 200, rounds = 3 } =
    options;
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  const servers: BenchServer[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      servers.push(await startServer(serviceArgs(upstream.url, redis.url)));
    }
    // Warm each instance's connections and JIT on another resource.
    for (const server of servers) {
      for (let i = 0; i < 20; i++) await timedGet(`${server.url}/users/1`);
    }
    const result: StampedeResult = {
      clients,
      instances,
      upstreamDelayMs,
      rounds: [],
    };
    for (let round = 0; round < rounds; round++) {
      const path = `/posts/${11 + round}`;
      upstream.setFault(path, { delayMs: upstreamDelayMs });
      upstream.resetHits();
      const answers = await Promise.all(
        Array.from(
          { length: clients },
          (_, i) => timedGet(`${servers[i % instances]!.url}${path}`),
        ),
      );
      const waits = answers.map((a) => a.ms).sort((a, b) => a - b);
      const statuses: Record<string, number> = {};
      for (const { status } of answers) {
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      result.rounds.push({
        path,
        upstreamRequests: upstream.hits(path),
        p99Ms: waits[Math.ceil(waits.length * 0.99) - 1]!,
        maxMs: waits[waits.length - 1]!,
        statuses,
      });
    }
    return result;
  } finally {
    for (const server of servers) await server[Symbol.asyncDispose]();
  }
}

if (import.meta.main) {
  // deno-lint-ignore no-console
  console.log(
    JSON.stringify(await benchRedisTier({ seconds: 2, rounds: 1 }), null, 2),
  );
  // deno-lint-ignore no-console
  console.log(JSON.stringify(await benchStampede(), null, 2));
}
