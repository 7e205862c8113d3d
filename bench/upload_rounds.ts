/**
 * Throughput rounds of the upload benchmark (`upload.ts`): one `curl -T`
 * upload to one server with its speed, memory and CPU, and the best and
 * median of a server's rounds.
 *
 * @module
 */

import { join } from "node:path";
import { type BenchServer, rssOf } from "./lib.ts";
import { cpuPerGiB, threadTimes } from "./thread_cpu.ts";
import {
  type CurlUpload,
  curlUpload,
  emptyDir,
  sampleRss,
  syncDisks,
} from "./upload_tools.ts";

/** One throughput round against one server. */
export interface ThroughputRun {
  mibPerSecond: number;
  seconds: number;
  idleRssBytes: number;
  peakRssBytes: number;
  /** The service's `bound` ("read" | "write"); absent for the baseline. */
  bound?: string;
  /** The service's own figures from the 201. */
  server?: Record<string, unknown>;
  /**
   * CPU milliseconds per GiB by thread group ({@linkcode cpuPerGiB}: main,
   * worker threads, blocking threads, other threads), curl's own left out.
   */
  cpuMsPerGiB?: Record<string, number>;
  /** curl's own CPU milliseconds per GiB sent (it shares the cores). */
  clientCpuMsPerGiB?: number;
}

const GiB = 1024 ** 3;

/** The figures of the service's 201 that a round keeps. */
const SERVER_FIGURES = [
  "durationMs",
  "bytesPerSecond",
  "readerWaitMs",
  "readerBlockedMs",
  "writerWriteMs",
  "writerIdleMs",
  "maxQueuedBytes",
] as const;

/**
 * One measured upload of `file` to `server` at `path`: its speed, the
 * server's idle and peak RSS, CPU per GiB by thread and (for the service)
 * the figures of its 201; `storeDir` is emptied after.
 */
export async function throughputRound(
  server: BenchServer,
  path: string,
  file: string,
  storeDir: string,
  tmp: string,
  sampleMs: number,
): Promise<ThroughputRun> {
  // Let the previous round's writeback settle so rounds start alike.
  await syncDisks();
  const idleRssBytes = await rssOf(server.pid);
  const sampler = sampleRss(server.pid, sampleMs);
  const cpuBefore = await threadTimes(server.pid);
  let upload: CurlUpload;
  let peakRssBytes = 0;
  try {
    upload = await curlUpload(file, `${server.url}${path}`, {
      out: join(tmp, "response.json"),
    });
  } finally {
    peakRssBytes = await sampler.stop();
  }
  const cpuAfter = await threadTimes(server.pid);
  if (upload.status !== 201) {
    throw new Error(`upload got ${upload.status}: ${JSON.stringify(upload)}`);
  }
  await emptyDir(storeDir);
  const run: ThroughputRun = {
    mibPerSecond: round(upload.mibPerSecond),
    seconds: round(upload.seconds),
    idleRssBytes,
    peakRssBytes,
    cpuMsPerGiB: cpuPerGiB(server.pid, cpuBefore, cpuAfter, upload.bytes),
    clientCpuMsPerGiB: Math.round(upload.cpuMs * GiB / upload.bytes),
  };
  const bound = upload.body?.bound;
  if (typeof bound === "string") {
    run.bound = bound;
    const body = upload.body ?? {};
    run.server = Object.fromEntries(
      SERVER_FIGURES.map((name) => [name, body[name]]),
    );
  }
  return run;
}

/** `n` rounded to `digits` decimals. */
export const round = (n: number, digits = 2): number =>
  Math.round(n * 10 ** digits) / 10 ** digits;

/** The median MiB/s of `runs` (two middle ones averaged). */
export function median(runs: ThroughputRun[]): number {
  const sorted = runs.map((r) => r.mibPerSecond).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** The fastest of `runs`. */
export function best(runs: ThroughputRun[]): ThroughputRun {
  return runs.reduce((a, b) => (a.mibPerSecond >= b.mibPerSecond ? a : b));
}
