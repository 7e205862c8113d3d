/**
 * Benchmark: cached `GET /posts/1` throughput of the service against a
 * minimal `Deno.serve` that returns the same JSON body, both driven by `wrk`
 * in the same run. Reported as a ratio (target: at least 0.85).
 *
 * Run alone with `deno run -A bench/cached_get.ts`, or through
 * `deno task bench`.
 *
 * @module
 */

import { startJsonPlaceholder } from "../tests/fixtures/jsonplaceholder.ts";
import { startServer, wrk, type WrkResult } from "./lib.ts";

/** Figures of the cached-GET benchmark. */
export interface CachedGetResult {
  service: WrkResult;
  baseline: WrkResult;
  ratio: number;
  connections: number;
  seconds: number;
  rounds: number;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MINIMAL = new URL("./minimal_server.ts", import.meta.url).pathname;

function best(results: WrkResult[]): WrkResult {
  return results.reduce((a, b) =>
    a.requestsPerSecond >= b.requestsPerSecond ? a : b
  );
}

/** Runs the benchmark; rounds alternate service and baseline. */
export async function benchCachedGet(
  options: { connections?: number; seconds?: number; rounds?: number } = {},
): Promise<CachedGetResult> {
  const { connections = 64, seconds = 8, rounds = 2 } = options;
  await using upstream = await startJsonPlaceholder();
  const post = await (await fetch(`${upstream.url}/posts/1`)).text();

  await using service = await startServer([
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "--port",
    "0",
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    "3600",
  ]);
  await using baseline = await startServer([
    Deno.execPath(),
    "run",
    "-A",
    MINIMAL,
    post,
  ]);

  // Warm the cache and both JITs.
  const check = await fetch(`${service.url}/posts/1`);
  if ((await check.text()) !== post) throw new Error("service body differs");
  await wrk(`${service.url}/posts/1`, { connections, seconds: 2 });
  await wrk(`${baseline.url}/`, { connections, seconds: 2 });

  const serviceRuns: WrkResult[] = [];
  const baselineRuns: WrkResult[] = [];
  for (let i = 0; i < rounds; i++) {
    serviceRuns.push(
      await wrk(`${service.url}/posts/1`, { connections, seconds }),
    );
    baselineRuns.push(await wrk(`${baseline.url}/`, { connections, seconds }));
  }
  const s = best(serviceRuns);
  const b = best(baselineRuns);
  for (const run of [...serviceRuns, ...baselineRuns]) {
    if (run.non2xx > 0 || run.errors > 0) {
      throw new Error(`wrk saw failures: ${JSON.stringify(run)}`);
    }
  }
  return {
    service: s,
    baseline: b,
    ratio: s.requestsPerSecond / b.requestsPerSecond,
    connections,
    seconds,
    rounds,
  };
}

if (import.meta.main) {
  const result = await benchCachedGet();
  // deno-lint-ignore no-console
  console.log(JSON.stringify(result, null, 2));
}
