/**
 * The CPU budget of an upload that is hashed (issue 11): the fastest a
 * server that receives and stores the body as cheaply as the cheapest
 * baseline, and hashes it, could take the benchmark's file on this
 * machine, from CPU figures measured in the same run.
 *
 * On a machine of N cores shared with the client, an upload cannot go
 * faster than N core-seconds per second allow: per GiB, the client's own
 * CPU (curl), the cheapest baseline's CPU to receive and store the body
 * (whichever of pipeTo, pipeTo + fsync and the FastAPI peer spent least),
 * and one SHA-256 of it (`hash_ceiling.ts`, CPU counted around the hash
 * alone). Their sum over N is the least wall time per GiB, with every
 * core busy all the time and no other cost at all: an upper bound, not a
 * forecast. A target above it is out of reach while the content is
 * hashed, however the work is arranged.
 *
 * @module
 */

import { median } from "./lib.ts";
import { medianSplit, totalOf } from "./thread_cpu.ts";
import type { UploadBenchResult } from "./upload_result.ts";
import type { ThroughputRun } from "./upload_rounds.ts";

/** The bound and the figures it comes from (ms of CPU per GiB). */
export interface UploadBudget {
  /** The fastest a hashing server could go here, MiB/s. */
  mibPerSecond: number;
  cores: number;
  /** curl's CPU per GiB (the least of the servers' median rounds). */
  clientMs: number;
  /** The cheapest baseline's CPU per GiB (median round) and its name. */
  storeMs: number;
  store: string;
  /** One SHA-256's CPU per GiB (median of the rounds). */
  hashMs: number;
}

const medianTotal = (runs: ThroughputRun[]) => {
  const split = medianSplit(runs.map((run) => run.cpuMsPerGiB));
  return split === undefined ? undefined : totalOf(split);
};

const medianClient = (runs: ThroughputRun[]) => {
  const known = runs.flatMap((run) => run.clientCpuMsPerGiB ?? []);
  return known.length === 0 ? undefined : median(known);
};

/**
 * The budget of `upload` on the cores of its run, or undefined when the
 * run has no CPU figures for it (the client's, a baseline's or the hash's).
 */
export function uploadBudget(
  upload: UploadBenchResult,
): UploadBudget | undefined {
  const { runs, cores } = upload;
  if (!Number.isSafeInteger(cores) || cores < 1) {
    throw new RangeError(`cores must be a positive integer: ${cores}`);
  }
  const stores = ([
    ["pipeTo", runs.baseline],
    ["pipeTo + fsync", runs.baselineFsync],
    ["FastAPI", runs.fastApi],
  ] as const).flatMap(([name, peerRuns]) => {
    const ms = medianTotal(peerRuns);
    return ms === undefined ? [] : [{ name, ms }];
  }).sort((a, b) => a.ms - b.ms);
  const clients = [
    runs.service,
    runs.baseline,
    runs.baselineFsync,
    runs.fastApi,
  ].flatMap((peerRuns) => medianClient(peerRuns) ?? []);
  const hashes = runs.sha256CpuMsPerGiB;
  const store = stores[0];
  if (store === undefined || clients.length === 0 || hashes.length === 0) {
    return undefined;
  }
  const clientMs = Math.min(...clients);
  const hashMs = median(hashes);
  const totalMs = clientMs + store.ms + hashMs;
  return {
    mibPerSecond: cores * 1000 * 1024 / totalMs,
    cores,
    clientMs,
    storeMs: store.ms,
    store: store.name,
    hashMs,
  };
}
