/**
 * The order in which the cached-GET benchmark measures its peers, and the
 * measuring. On a shared 2-core machine one peer's req/s moves 20-40 %
 * from round to round, far more than the effects the targets judge, so:
 *
 * - the peers a target compares are measured back to back in mirrored
 *   order within each round ({@linkcode PAIRED_BLOCKS}: nginx 1 worker,
 *   the guarded equivalent, the service, the feature-equivalent, then the
 *   same backwards; `--parallel` and nginx 2 workers the same way), so a
 *   slow change of the machine's load hits both sides of a pair alike and
 *   each round gives one ratio per comparison (`bench/paired.ts`); the
 *   pair of the main target (service, feature-equivalent) sits in the
 *   middle, back to back, and swaps which goes first every round;
 * - the service, the feature-equivalent and the guarded equivalent run as
 *   several processes each ({@linkcode MULTI_PEERS}), and each round takes
 *   another combination of them, so no one process's luck (JIT, heap
 *   layout) decides a verdict;
 * - the ladder's rungs and minimal, compared by no target, run once a
 *   round each, in rotating order, between the two blocks;
 * - a run through which the machine stalled (wrk timeouts past 1 % of its
 *   requests) is measured again, up to {@linkcode MAX_REPEATS} times.
 *
 * @module
 */

import type { Peer, PeerRun } from "./cached_get.ts";
import {
  checkWrk,
  cpuSecondsOf,
  lostRequests,
  wrk,
  type WrkResult,
} from "./lib.ts";

/** Peers measured in mirrored order in each round, block by block. */
export const PAIRED_BLOCKS: readonly (readonly Peer[])[] = [
  ["nginx1", "guarded", "service", "equivalent"],
  ["nginx2", "parallel"],
];

/** Peers measured once a round, in rotating order: no target pairs them. */
export const SINGLE_PEERS: readonly Peer[] = [
  "minimal",
  "second-header",
  "all-headers",
  "values",
];

/** Peers run as several processes; each round takes another combination. */
export const MULTI_PEERS: readonly Peer[] = [
  "service",
  "equivalent",
  "guarded",
];

/**
 * The peers of round `round` in the order measured: each paired block
 * forward then backward (its last two swapped on odd rounds, so neither
 * side of the middle pair always goes first), the single peers rotated
 * by one each round in between.
 */
export function roundOrder(round: number): Peer[] {
  const mirrored = (block: readonly Peer[]) => {
    const half = [...block];
    if (round % 2 === 1 && half.length >= 2) {
      half.push(...half.splice(-2, 2).reverse());
    }
    return [...half, ...half.toReversed()];
  };
  const singles = SINGLE_PEERS.map((_, i) =>
    SINGLE_PEERS[(i + round) % SINGLE_PEERS.length]!
  );
  const [first = [], ...rest] = PAIRED_BLOCKS;
  return [...mirrored(first), ...singles, ...rest.flatMap(mirrored)];
}

/**
 * Which of `count` processes of `peer` round `round` measures: the
 * service's cycles 0, 1, 2, ...; the others shift by one more each cycle,
 * so over `count` × `count` rounds every combination comes up.
 */
export function instanceOf(peer: Peer, round: number, count: number): number {
  const k = Math.max(0, MULTI_PEERS.indexOf(peer));
  return (round + k * Math.floor(round / count)) % count;
}

/** A peer's server as the rounds need it. */
export interface Running {
  url: string;
  pid: number;
}

/** Options of {@linkcode measureRounds}. */
export interface RoundOptions {
  path: string;
  connections: number;
  /** Seconds of each wrk run. */
  seconds: number;
  rounds: number;
}

/**
 * Times a run is repeated when the machine stalled through it: wrk's
 * socket errors (2 s timeouts) past 1 % of a short run's requests, with
 * no wrong answer. A run shorter than a stall cannot be judged; a wrong
 * answer still fails at once.
 */
export const MAX_REPEATS = 2;

/** Whether `run` lost more than 1 % of its requests, none answered wrong. */
export function stalled(run: WrkResult): boolean {
  return run.non2xx === 0 && lostRequests(run);
}

/** One wrk run against `server`, with the CPU time the server used. */
async function measure(
  server: Running,
  peer: string,
  options: RoundOptions,
): Promise<Omit<PeerRun, "round" | "instance">> {
  const { path, connections, seconds } = options;
  for (let repeats = 0;; repeats++) {
    const cpuBefore = await cpuSecondsOf(server.pid);
    const run = await wrk(`${server.url}${path}`, { connections, seconds });
    const cpu = await cpuSecondsOf(server.pid) - cpuBefore;
    if (repeats < MAX_REPEATS && stalled(run)) continue;
    checkWrk(run, peer);
    return { ...run, cpuUsPerRequest: cpu * 1e6 / run.requests, repeats };
  }
}

/**
 * Measures every round in {@linkcode roundOrder}; `servers` holds each
 * peer's processes (several for {@linkcode MULTI_PEERS}). Each run keeps
 * its round and process, so the report can pair them.
 */
export async function measureRounds(
  servers: Record<Peer, Running[]>,
  options: RoundOptions,
): Promise<Record<Peer, PeerRun[]>> {
  const runs = {} as Record<Peer, PeerRun[]>;
  for (const peer of Object.keys(servers) as Peer[]) runs[peer] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const peer of roundOrder(round)) {
      const processes = servers[peer];
      const instance = instanceOf(peer, round, processes.length);
      const run = await measure(processes[instance]!, peer, options);
      runs[peer].push({ ...run, round, instance });
    }
  }
  return runs;
}
