/**
 * Benchmark: cached `GET /posts/1` of the service against its peers (issue
 * 11), all started at once and measured in one run with `wrk` (`-t1
 * -c64`). The peers a target compares are measured back to back in
 * mirrored order within each round, and the service and the feature-
 * equivalent run as several processes (`bench/cached_rounds.ts`), so each
 * target is judged on per-round paired ratios ({@linkcode comparison});
 * each peer's own figure is the median of its runs.
 *
 * - `minimal`: `bench/minimal_server.ts`, a `Deno.serve` returning the body
 *   with one header (the runtime's ceiling);
 * - `equivalent`: `bench/equivalent_server.ts`, a `Deno.serve` sending the
 *   service's status, body and headers and writing its log line, taken from
 *   the service's own answer and log in this run;
 * - `guarded`: the same handler under the service's connection layer
 *   (`serveGuarded`: its accept loop, connection cap and timeouts), so the
 *   report can tell what that layer costs from what the service's own
 *   per-request work costs;
 * - `values`, `all-headers`, `second-header`: the rungs between `minimal`
 *   and `equivalent` (`bench/ladder_server.ts`), each one step, so the
 *   report shows where the distance between the two goes;
 * - `nginx1`, `nginx2`: Debian nginx with `proxy_cache` in front of the same
 *   upstream, 1 and 2 worker processes, access log on (buffered);
 * - `service`: `main.ts` with the flags of `deno task start` (permissions, V8 flags);
 * - `parallel`: `serve.ts` under `deno serve --parallel`, 2 workers.
 *
 * The upstream is the real JSONPlaceholder (npm `jsonplaceholder` under
 * Node) on loopback. Run alone with `deno run -A bench/cached_get.ts`, or
 * through `deno task bench`.
 *
 * @module
 */

import { startJsonPlaceholder } from "../tests/fixtures/jsonplaceholder.ts";
import { median, type WrkResult } from "./lib.ts";
import { measureRounds } from "./cached_rounds.ts";
import {
  CACHED_PATH,
  nginxVersion,
  startPeers,
  warmUp,
} from "./cached_peers.ts";
import { pairedRatios, type Spread, spreadOf } from "./paired.ts";

/** The peers, in the order of the report. */
export const PEERS = [
  "service",
  "parallel",
  "guarded",
  "equivalent",
  "values",
  "all-headers",
  "second-header",
  "nginx1",
  "nginx2",
  "minimal",
] as const;
/** One peer of the benchmark. */
export type Peer = typeof PEERS[number];

/** How each peer is named in the report. */
export const PEER_LABELS: Record<Peer, string> = {
  service: "async-api, `deno task start`",
  parallel: "async-api, `deno serve --parallel` (2 workers)",
  guarded:
    "the feature-equivalent handler under the service's connection layer (`serveGuarded`)",
  equivalent: "feature-equivalent `Deno.serve` (bench/equivalent_server.ts)",
  values: "the same without the log line (bench/ladder_server.ts)",
  "all-headers": "the service's headers, constant values, no log",
  "second-header": "minimal + a constant `ETag`",
  nginx1: "nginx `proxy_cache`, 1 worker",
  nginx2: "nginx `proxy_cache`, 2 workers",
  minimal: "minimal `Deno.serve`, constant body",
};

/** One run of one peer: wrk's figures and the server's CPU time. */
export interface PeerRun extends WrkResult {
  /**
   * CPU time (user + system, every thread and child process: nginx's
   * workers) the server used during the run, in µs per request served.
   */
  cpuUsPerRequest: number;
  /** The round the run belongs to: runs of one round are paired. */
  round: number;
  /** Which of the peer's processes served it (0 when it has one). */
  instance: number;
  /**
   * Runs thrown away before this one because the machine stalled through
   * them (`bench/cached_rounds.ts`); absent in results from before it.
   */
  repeats?: number;
}

/** The medians of one peer's runs, and the runs. */
export interface PeerFigures {
  requestsPerSecond: number;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  /** Median CPU µs per request; undefined in results from before it. */
  cpuUsPerRequest: number | undefined;
  runs: PeerRun[];
}

/** A comparison of two peers over the pairs of a run. */
export interface Comparison {
  /** Subject req/s over the baseline's, over the pairs. */
  throughput: Spread;
  /** Subject requests per CPU second over the baseline's. */
  perCpuSecond: Spread | undefined;
  /** Subject p99 latency over the baseline's (lower is better). */
  p99: Spread | undefined;
}

/**
 * `subject` against `baseline` from the runs of each round in which both
 * ran (back to back, mirrored: `bench/cached_rounds.ts`): one ratio per
 * round, summed up as median, quartiles and extremes. Throws when no round
 * measured both.
 */
export function comparison(
  cached: CachedGetResult,
  subject: Peer,
  baseline: Peer,
): Comparison {
  const ratios = pairedRatios(
    cached.peers[subject].runs,
    cached.peers[baseline].runs,
  );
  const throughput = spreadOf(ratios.throughput);
  if (throughput === undefined) {
    throw new RangeError(`no round measured both ${subject} and ${baseline}`);
  }
  return {
    throughput,
    perCpuSecond: spreadOf(ratios.perCpuSecond),
    p99: spreadOf(ratios.p99),
  };
}

/** Figures of the cached-GET benchmark. */
export interface CachedGetResult {
  peers: Record<Peer, PeerFigures>;
  connections: number;
  /** Seconds of each wrk run. */
  seconds: number;
  rounds: number;
  /** Processes of each peer run as several (`MULTI_PEERS` of `bench/cached_rounds.ts`). */
  instances: number;
  /** The nginx version that ran (`nginx -v`). */
  nginx: string;
  /** The service's response header names the equivalent peer copied. */
  headerNames: string[];
  /** The fields of the service's log line the equivalent peer writes. */
  logFields: string[];
}

/** Options of {@linkcode benchCachedGet}. */
export interface BenchCachedGetOptions {
  /** wrk connections. @default {64} */
  connections?: number;
  /** Seconds of each measured wrk run. @default {2} */
  seconds?: number;
  /**
   * Rounds over all peers; each gives one ratio per comparison. 9 = every
   * pairing of 3 service processes with 3 equivalent ones once. @default {9}
   */
  rounds?: number;
  /**
   * Processes of the service, the feature-equivalent and the guarded
   * equivalent, taken in turn by the rounds. @default {3}
   */
  instances?: number;
}

/** A peer's figures: the medians of its runs (all its processes). */
function figures(runs: PeerRun[]): PeerFigures {
  const of = (pick: (r: PeerRun) => number | undefined) => {
    const values = runs.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  return {
    requestsPerSecond: of((r) => r.requestsPerSecond)!,
    latencyP50Ms: of((r) => r.latencyP50Ms),
    latencyP99Ms: of((r) => r.latencyP99Ms),
    cpuUsPerRequest: of((r) => r.cpuUsPerRequest),
    runs,
  };
}

/** Throws a RangeError unless each option is a positive integer. */
function validate(options: Record<string, number>): void {
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }
}

/**
 * Runs the benchmark: every peer started at once, then `rounds` rounds
 * (`bench/cached_rounds.ts`: the compared peers back to back in mirrored
 * order, another combination of processes each round).
 */
export async function benchCachedGet(
  options: BenchCachedGetOptions = {},
): Promise<CachedGetResult> {
  const { connections = 64, seconds = 2, rounds = 9, instances = 3 } = options;
  validate({ connections, seconds, rounds, instances });
  const tmp = await Deno.makeTempDir({ prefix: "bench-cached-" });
  await Deno.chmod(tmp, 0o777);
  try {
    await using upstream = await startJsonPlaceholder();
    const post = await (await fetch(`${upstream.url}${CACHED_PATH}`)).text();
    await using stack = new AsyncDisposableStack();
    const { servers, spec } = await startPeers(stack, {
      upstream: upstream.url,
      post,
      tmp,
      count: instances,
    });
    await warmUp(servers, connections, post);
    const runs = await measureRounds(servers, {
      path: CACHED_PATH,
      connections,
      seconds,
      rounds,
    });
    return {
      peers: Object.fromEntries(
        PEERS.map((p) => [p, figures(runs[p])]),
      ) as Record<Peer, PeerFigures>,
      connections,
      seconds,
      rounds,
      instances,
      nginx: await nginxVersion(),
      headerNames: spec.headers.map(([name]) => name),
      logFields: Object.keys(spec.log),
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  const result = await benchCachedGet({ seconds: 1, rounds: 2, instances: 1 });
  // deno-lint-ignore no-console
  console.log(JSON.stringify(result, null, 2));
}
