/**
 * The CPU part of the upload report: each server's CPU per GiB in its
 * median round, by thread (`thread_cpu.ts`), and the service's total
 * against the FastAPI peer's. On two cores shared with curl the rates of
 * single rounds swing; the CPU a server spends per GiB is what bounds it.
 *
 * @module
 */

import { formatValue } from "./charts.ts";
import { formatRatio } from "./report_format.ts";
import { medianSplit, splitText, totalOf } from "./thread_cpu.ts";
import type { UploadBenchResult } from "./upload_result.ts";
import type { ThroughputRun } from "./upload_rounds.ts";

const cpuOf = (runs: ThroughputRun[]) =>
  medianSplit(runs.map((run) => run.cpuMsPerGiB));

/** The CPU row: the service's CPU per GiB against FastAPI's (or pipeTo's). */
export function cpuRows(upload: UploadBenchResult): string[][] {
  const service = cpuOf(upload.runs.service);
  const [name, peer] = upload.runs.fastApi.length > 0
    ? ["FastAPI", cpuOf(upload.runs.fastApi)]
    : ["pipeTo", cpuOf(upload.runs.baseline)];
  if (service === undefined || peer === undefined) return [];
  const ms = (split: Record<string, number>) =>
    `${formatValue(totalOf(split))} ms`;
  return [[
    "CPU per GiB, server process (median round; lower is better)",
    ms(service),
    `${ms(peer)} (${name})`,
    formatRatio(totalOf(service) / totalOf(peer)),
    "—",
    "info",
  ]];
}

/**
 * Where each server's CPU went, by thread, in its median round: on two
 * cores shared with curl, the total is what a server's rate is bounded by.
 */
export function cpuAccount(upload: UploadBenchResult): string[] {
  const servers: [string, ThroughputRun[]][] = [
    ["the service", upload.runs.service],
    ["pipeTo", upload.runs.baseline],
    ["pipeTo + fsync", upload.runs.baselineFsync],
    ["FastAPI", upload.runs.fastApi],
  ];
  const parts = servers.flatMap(([name, runs]) => {
    const split = cpuOf(runs);
    return split === undefined
      ? []
      : [`${name} ${splitText(split, formatValue)}`];
  });
  if (parts.length === 0) return [];
  return [
    "",
    `CPU per GiB by thread, median round of each (from /proc/<pid>/task/*/stat; curl's own CPU, which shares the same cores, is in the CPU budget row): ${
      parts.join("; ")
    }. The service's worker thread is the SHA-256; its blocking threads run the file writes and fsyncs.`,
    ...idleAccount(servers),
  ];
}

/** The median of the known `values`, or undefined when none is. */
function medianOf(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  if (known.length === 0) return undefined;
  const mid = known.length >> 1;
  return known.length % 2 ? known[mid] : (known[mid - 1]! + known[mid]!) / 2;
}

/**
 * Whether each server was bound by CPU or waited: the share of the
 * machine's cores left idle during its uploads and curl's CPU per GiB,
 * medians of its rounds. A server that leaves cores idle while it is
 * slower than another is held up by hand-offs between its threads, not
 * by what it costs (bench/machine_idle.ts).
 */
function idleAccount(servers: [string, ThroughputRun[]][]): string[] {
  const parts = servers.flatMap(([name, runs]) => {
    const idle = medianOf(runs.map((run) => run.machineIdleShare));
    const curl = medianOf(runs.map((run) => run.clientCpuMsPerGiB));
    if (idle === undefined) return [];
    const client = curl === undefined ? "" : `, curl ${formatValue(curl)} ms`;
    return [`${name} ${Math.round(idle * 100)}%${client}`];
  });
  if (parts.length === 0) return [];
  return [
    "",
    `Cores left idle during the upload (all the machine's, from /proc/stat; median round) and curl's CPU per GiB: ${
      parts.join("; ")
    }. Near 0% the server and curl used every core (bound by CPU); more means it waited on hand-offs between its threads or on the client. On a machine shared with other work this share is theirs too.`,
  ];
}
