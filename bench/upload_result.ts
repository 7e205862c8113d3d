/**
 * The figures of the upload benchmark (`upload.ts`): what its parts
 * measured, put together with the best and median rounds and the ratios,
 * and a summary without the timeline arrays.
 *
 * @module
 */

import { best, median, round, type ThroughputRun } from "./upload_rounds.ts";
import { median as medianOf } from "./lib.ts";
import { UPLOAD_QUEUE_BYTES } from "./upload_tools.ts";
import type { TracedUpload } from "./upload_trace.ts";

const MiB = 1024 * 1024;

/** Figures of the upload benchmark. */
export interface UploadBenchResult {
  bytes: number;
  rounds: number;
  /**
   * The pause before every throughput round, after the previous round's
   * file was deleted and the disks synced, ms (`throughputRound`).
   */
  settleMs: number;
  service: ThroughputRun;
  baseline: ThroughputRun;
  /** service / baseline throughput; target >= 0.9. */
  ratio: number;
  /** The baseline with an fsync before its 201, as the service does. */
  baselineFsync?: ThroughputRun;
  /** service / fsyncing baseline throughput. */
  ratioFsync?: number;
  /** The FastAPI peer (`bench/fastapi_server.py`). */
  fastApi?: ThroughputRun;
  /** Median MiB/s of the rounds (the disk makes single rounds noisy). */
  medianMiBPerSecond: {
    service: number;
    baseline: number;
    baselineFsync?: number;
    fastApi?: number;
    /** One core's SHA-256 of the same file: the most the service can do. */
    sha256: number;
  };
  /** The service's upload queue capacity in this run, bytes. */
  queueBytes: number;
  /** The machine's cores (`navigator.hardwareConcurrency`), client's too. */
  cores: number;
  /** Where the data was written. */
  dataDir: string;
  /**
   * Peak RSS of the service over the rounds minus its idle RSS before any
   * big upload (or the lowest idle of a round), in MiB; target <= 64.
   */
  rssGrowthMiB: number;
  runs: {
    service: ThroughputRun[];
    baseline: ThroughputRun[];
    baselineFsync: ThroughputRun[];
    fastApi: ThroughputRun[];
    /** One core's SHA-256 of the file, MiB/s, once per round. */
    sha256: number[];
    /** The CPU that SHA-256 took per GiB, ms, once per round. */
    sha256CpuMsPerGiB: number[];
  };
  concurrent: {
    clients: number;
    bytesEach: number;
    rate: string;
    created: number;
    statuses: Record<string, number>;
    wallSeconds: number;
    idleRssBytes: number;
    peakRssBytes: number;
  };
  timelines: { fast: TracedUpload; slow: TracedUpload };
  deno: string;
}

/** The rounds of each server. */
export type Runs = UploadBenchResult["runs"];

/** What parts 1 and 2 measure. */
export interface Measured {
  runs: Runs;
  /** The service's RSS after the small warm-up, before any big upload. */
  serviceIdleRssBytes: number;
  concurrent: UploadBenchResult["concurrent"];
}

/** The figures of the benchmark, from what its parts measured. */
export function resultOf(
  s: { bytes: number; rounds: number; settleMs: number },
  tmp: string,
  measured: Measured,
  timelines: UploadBenchResult["timelines"],
): UploadBenchResult {
  const { runs, serviceIdleRssBytes } = measured;
  const service = best(runs.service);
  const baseline = best(runs.baseline);
  const fsyncRuns = runs.baselineFsync;
  const fastApiRuns = runs.fastApi;
  const result: UploadBenchResult = {
    bytes: s.bytes,
    rounds: s.rounds,
    settleMs: s.settleMs,
    service,
    baseline,
    ratio: round(service.mibPerSecond / baseline.mibPerSecond, 3),
    rssGrowthMiB: round(
      (Math.max(...runs.service.map((r) => r.peakRssBytes)) -
        Math.min(
          serviceIdleRssBytes,
          ...runs.service.map((r) => r.idleRssBytes),
        )) / MiB,
      1,
    ),
    medianMiBPerSecond: {
      service: median(runs.service),
      baseline: median(runs.baseline),
      ...(fsyncRuns.length > 0 ? { baselineFsync: median(fsyncRuns) } : {}),
      ...(fastApiRuns.length > 0 ? { fastApi: median(fastApiRuns) } : {}),
      sha256: medianOf(runs.sha256),
    },
    queueBytes: UPLOAD_QUEUE_BYTES,
    cores: navigator.hardwareConcurrency,
    dataDir: tmp,
    runs,
    concurrent: measured.concurrent,
    timelines,
    deno: Deno.version.deno,
  };
  if (fastApiRuns.length > 0) result.fastApi = best(fastApiRuns);
  if (fsyncRuns.length > 0) {
    result.baselineFsync = best(fsyncRuns);
    result.ratioFsync = round(
      service.mibPerSecond / result.baselineFsync.mibPerSecond,
      3,
    );
  }
  return result;
}

/** The result without the timeline arrays (their sizes instead). */
export function summarize(result: UploadBenchResult): Record<string, unknown> {
  const brief = (t: TracedUpload) => ({
    bytes: t.bytes,
    rate: t.rate,
    seconds: t.seconds,
    bound: t.bound,
    events: t.events.length,
  });
  const mib = (n: number) => round(n / MiB, 1);
  const rss = (run: ThroughputRun) => ({
    ...run,
    idleRssMiB: mib(run.idleRssBytes),
    peakRssMiB: mib(run.peakRssBytes),
  });
  return {
    ...result,
    service: rss(result.service),
    baseline: rss(result.baseline),
    ...(result.baselineFsync
      ? { baselineFsync: rss(result.baselineFsync) }
      : {}),
    concurrent: {
      ...result.concurrent,
      idleRssMiB: mib(result.concurrent.idleRssBytes),
      peakRssMiB: mib(result.concurrent.peakRssBytes),
    },
    timelines: {
      fast: brief(result.timelines.fast),
      slow: brief(result.timelines.slow),
    },
  };
}
