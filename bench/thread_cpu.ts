/**
 * CPU time of a server's threads over one benchmark round, read from
 * `/proc/<pid>/task/<tid>/stat`, grouped by what the thread does and
 * counted per GiB moved. On a small machine shared with the client (and
 * with whatever else runs), wall rates swing from round to round; the CPU
 * a server spends per GiB is what holds still, and the split by thread
 * shows which one sets the pace (the runtime's main thread, a worker
 * thread such as the upload's SHA-256, the blocking threads that run file
 * writes and fsyncs).
 *
 * @module
 */

import { parseStat } from "./lib.ts";

const GiB = 1024 ** 3;

/** CPU milliseconds so far of each live thread of `pid`, by thread id. */
export type ThreadTimes = Map<number, { name: string; ms: number }>;

/** Reads the CPU time of every thread of `pid` now. */
export async function threadTimes(pid: number): Promise<ThreadTimes> {
  const times: ThreadTimes = new Map();
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const stat = await Deno.readTextFile(
        `/proc/${pid}/task/${task.name}/stat`,
      );
      times.set(Number(task.name), parseStat(stat));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return times;
}

/**
 * What a thread does, from its name: the process's first thread is the
 * `main` one (the event loop of Deno, Python's interpreter); Deno names
 * `node:worker_threads` threads `worker-N` and its blocking pool (file
 * writes, fsyncs) `tokio-runtime-w`.
 */
export function threadGroup(pid: number, tid: number, name: string): string {
  if (tid === pid) return "main";
  if (/^worker-\d+$/.test(name)) return "worker threads";
  if (name.startsWith("tokio-runtime")) return "blocking threads";
  return "other threads";
}

/**
 * CPU milliseconds per GiB of `bytes`, by thread group, between two reads
 * of {@linkcode threadTimes}; a thread that ended in between is lost (the
 * servers here keep theirs). Groups that used no CPU are left out.
 */
export function cpuPerGiB(
  pid: number,
  before: ThreadTimes,
  after: ThreadTimes,
  bytes: number,
): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [tid, { name, ms }] of after) {
    const used = ms - (before.get(tid)?.ms ?? 0);
    if (used <= 0) continue;
    const group = threadGroup(pid, tid, name);
    groups[group] = (groups[group] ?? 0) + used;
  }
  for (const group of Object.keys(groups)) {
    groups[group] = Math.round(groups[group]! * GiB / bytes);
  }
  return groups;
}

/** The sum of a {@linkcode cpuPerGiB} split. */
export function totalOf(split: Record<string, number>): number {
  return Object.values(split).reduce((sum, ms) => sum + ms, 0);
}

/**
 * The split of the round whose total is the median (the lower middle one
 * for an even count), or undefined when no round has one.
 */
export function medianSplit(
  splits: (Record<string, number> | undefined)[],
): Record<string, number> | undefined {
  const known = splits.filter((split) => split !== undefined)
    .sort((a, b) => totalOf(a) - totalOf(b));
  return known[(known.length - 1) >> 1];
}

/**
 * `"2,900 ms (main 1,000, worker threads 1,000, …)"`, groups in the order
 * of {@linkcode threadGroup}'s; `format` writes the numbers.
 */
export function splitText(
  split: Record<string, number>,
  format: (ms: number) => string,
): string {
  const order = ["main", "worker threads", "blocking threads", "other threads"];
  const parts = order.filter((group) => split[group] !== undefined)
    .map((group) => `${group} ${format(split[group]!)}`);
  return `${format(totalOf(split))} ms (${parts.join(", ")})`;
}
