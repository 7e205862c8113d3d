/**
 * Throughput rounds of the upload benchmark (`upload.ts`): one `curl -T`
 * upload to one server with its speed, memory and CPU, and the best and
 * median of a server's rounds.
 *
 * @module
 */

import { join } from "node:path";
import { type BenchServer, rssOf } from "./lib.ts";
import { idleShare, machineTimes } from "./machine_idle.ts";
import { cpuPerGiB, threadTimes } from "./thread_cpu.ts";
import {
  type CurlUpload,
  curlUpload,
  delay,
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
  /**
   * The share of all the machine's cores left idle during the upload
   * (`machine_idle.ts`): near 0 when the upload (with curl) was bound by
   * CPU, more when it waited on hand-offs between threads.
   */
  machineIdleShare?: number;
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
  "writerHashWaitMs",
  "maxQueuedBytes",
] as const;

/** How every throughput round is started. */
export interface RoundConditions {
  /** RSS sampling period, ms. */
  sampleMs: number;
  /**
   * The pause after the previous round's file was deleted and the disks
   * synced, before this round's upload starts, ms ({@linkcode
   * throughputRound}).
   */
  settleMs: number;
}

/**
 * One measured upload of `file` to `server` at `path`: its speed, the
 * server's idle and peak RSS, CPU per GiB by thread and (for the service)
 * the figures of its 201; `storeDir` is emptied after.
 *
 * Every round starts alike: the writeback of what came before is synced,
 * then nothing runs for `settleMs`. On a VM with free page reporting (this
 * bench's host) memory that stays free for ~2 s is handed back to the
 * host, and the first touch of such a page faults in the host: the page
 * cache a round writes costs several times more CPU in pages free for long
 * than in pages freed moments before (the previous round's deleted file).
 * Without the pause, whichever server followed a deletion closely got warm
 * pages and the others cold ones, so the round order set the writes' cost
 * (bench/PROFILE.md, "free page reporting"); after it, every server writes
 * into pages that were all handed back.
 */
export async function throughputRound(
  server: BenchServer,
  path: string,
  file: string,
  storeDir: string,
  tmp: string,
  { sampleMs, settleMs }: RoundConditions,
): Promise<ThroughputRun> {
  await syncDisks();
  await delay(settleMs);
  const idleRssBytes = await rssOf(server.pid);
  const sampler = sampleRss(server.pid, sampleMs);
  const cpuBefore = await threadTimes(server.pid);
  const machineBefore = await machineTimes();
  let upload: CurlUpload;
  let peakRssBytes = 0;
  try {
    upload = await curlUpload(file, `${server.url}${path}`, {
      out: join(tmp, "response.json"),
    });
  } finally {
    peakRssBytes = await sampler.stop();
  }
  const machineAfter = await machineTimes();
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
  const idle = idleShare(machineBefore, machineAfter);
  if (idle !== undefined) run.machineIdleShare = round(idle, 3);
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
