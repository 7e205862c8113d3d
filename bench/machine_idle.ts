/**
 * How much of the machine's cores stayed idle over a benchmark round, from
 * the `cpu` line of `/proc/stat` (idle and iowait against every state).
 * CPU per GiB says what a server costs; the idle share says whether its
 * rate was bound by that cost or by waiting: a server whose round leaves
 * the cores idle while its upload runs is held up by hand-offs between its
 * threads (or the client), not by CPU, and a cheaper server can still be
 * slower. On a machine shared with other work the share is theirs too, so
 * it reads only from a quiet run.
 *
 * @module
 */

/** Jiffies of the machine's cores so far: all states, and idle + iowait. */
export interface MachineTimes {
  total: number;
  idle: number;
}

/** Parses the aggregate `cpu` line of a `/proc/stat` text. */
export function parseMachineTimes(procStat: string): MachineTimes {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new TypeError("no cpu line in /proc/stat");
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already
  // counted in user and nice).
  const total = fields.slice(0, 8).reduce((sum, n) => sum + (n || 0), 0);
  return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}

/** Reads the machine's core times now. */
export async function machineTimes(): Promise<MachineTimes> {
  return parseMachineTimes(await Deno.readTextFile("/proc/stat"));
}

/**
 * The idle share of all cores between two reads, in [0, 1]; undefined when
 * no time passed between them.
 */
export function idleShare(
  before: MachineTimes,
  after: MachineTimes,
): number | undefined {
  const total = after.total - before.total;
  if (!(total > 0)) return undefined;
  return Math.min(1, Math.max(0, (after.idle - before.idle) / total));
}
