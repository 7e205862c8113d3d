/**
 * The upload part of the benchmark report: the big upload against its
 * baselines (a bare `pipeTo` into a file, the same with an fsync, and the
 * seed's FastAPI design), medians as the headline, the memory target, the
 * many rate-limited uploads and the reader/writer timelines.
 *
 * @module
 */

import { join, relative } from "node:path";
import { type BarGroup, formatValue } from "./charts.ts";
import { cpuAccount, cpuRows } from "./upload_cpu.ts";
import { laneTotals, timelineChart } from "./timeline_chart.ts";
import {
  formatBytes,
  formatRatio,
  met,
  parseCurlRate,
  plural,
  table,
} from "./report_format.ts";
import type { UploadBenchResult } from "./upload_result.ts";
import { throughputRows, UPLOAD_TARGETS } from "./upload_throughput.ts";

export { UPLOAD_TARGETS };
import type { ThroughputRun } from "./upload_rounds.ts";
import type { TracedUpload } from "./upload_trace.ts";

const MiB = 1024 * 1024;

/** The charts' file names, next to the report. */
export const UPLOAD_CHARTS = {
  timelineFast: "timeline_fast.svg",
  timelineLimited: "timeline_limited.svg",
} as const;

/** The most the service's RSS may grow during the upload, MiB. */
export function rssBudgetMiB(upload: UploadBenchResult): number {
  return upload.queueBytes / MiB + UPLOAD_TARGETS.rssSlackMiB;
}

function memoryRows(upload: UploadBenchResult): string[][] {
  const mib = (bytes: number) => `${formatValue(bytes / MiB)} MiB`;
  const peak = (runs: ThroughputRun[]) =>
    Math.max(...runs.map((r) => r.peakRssBytes));
  const idle = (runs: ThroughputRun[]) =>
    Math.min(...runs.map((r) => r.idleRssBytes));
  const pipeGrowth = peak(upload.runs.baseline) - idle(upload.runs.baseline);
  const budget = rssBudgetMiB(upload);
  const rows = [
    [
      "RSS growth, peak − idle (lower is better)",
      `${formatValue(upload.rssGrowthMiB)} MiB`,
      `${mib(pipeGrowth)} (pipeTo)`,
      formatRatio(upload.rssGrowthMiB / (pipeGrowth / MiB)),
      `≤ ${formatValue(budget)} MiB (queue ${
        formatBytes(upload.queueBytes)
      } + ${UPLOAD_TARGETS.rssSlackMiB} MiB)`,
      met(upload.rssGrowthMiB <= budget),
    ],
    [
      "peak RSS",
      mib(peak(upload.runs.service)),
      `${mib(peak(upload.runs.baseline))} (pipeTo)`,
      formatRatio(peak(upload.runs.service) / peak(upload.runs.baseline)),
      "—",
      "info",
    ],
  ];
  if (upload.runs.fastApi.length > 0) {
    rows.push([
      "peak RSS vs the FastAPI peer",
      mib(peak(upload.runs.service)),
      `${mib(peak(upload.runs.fastApi))} (FastAPI)`,
      formatRatio(peak(upload.runs.service) / peak(upload.runs.fastApi)),
      "—",
      "info",
    ]);
  }
  return rows;
}

/**
 * How every throughput round is started (`throughputRound`): on a VM with
 * free page reporting the round order set the cost of the page cache a
 * server writes into (bench/PROFILE.md).
 */
function conditioning(settleMs: number): string {
  const pause = `${formatValue(settleMs / 1000)} s`;
  return `Every round starts alike: the previous round's file deleted, the disks synced (\`sync\`), then ${pause} with nothing running, so that the memory the page cache takes has been free long enough for this host's free page reporting (a Firecracker VM; memory free for ~2 s is handed back to the host, and each page faults in the host on its next first touch) to have handed it back, whichever server ran before: without the pause a server that followed another's deleted file wrote into pages still backed by the host at a fraction of the CPU, so the round order decided which server paid for its writes.`;
}

/** The big upload's section. */
export function uploadSection(upload: UploadBenchResult): string {
  const rows = throughputRows(upload);
  rows.push(...cpuRows(upload), ...memoryRows(upload));
  return [
    `## Upload vs a bare pipeTo and the FastAPI peer`,
    "",
    `A ${
      formatBytes(upload.bytes)
    } file of random bytes sent with \`curl -T\` over loopback to \`POST /files\` (reader task, bounded queue of ${
      formatBytes(upload.queueBytes)
    }, writer task, SHA-256, fsync + rename) and to three baselines: \`bench/pipe_server.ts\` (\`req.body.pipeTo(file.writable)\`, nothing else), the same with an fsync before its 201, and \`bench/fastapi_server.py\`, the seed's FastAPI design (reader and writer coroutines around an \`asyncio.Queue\` of 8 chunks, each write in \`asyncio.to_thread\`; uvicorn with uvloop and httptools from Debian; no hash, no fsync). The SHA-256 ceiling is \`bench/hash_ceiling.ts\`: the same file hashed with node:crypto in 2 MiB pieces in a process of its own, once per round; the service hashes every byte before its 201 and one SHA-256 cannot be split across cores, so no upload of it beats that rate, and a target asking for more is out of reach while hashing. The CPU budget (\`bench/upload_budget.ts\`) bounds it further: the machine's cores give so many CPU-seconds per second, and per GiB curl, the cheapest baseline's receiving and storing, and the SHA-256 (its CPU counted around the hash alone) each take their share, all measured in this run; the rate at which they fill every core is the most a server could do here that receives and stores the body as cheaply as the cheapest baseline and hashes it. ${
      plural(upload.rounds, "round")
    }${
      upload.rounds > 1 ? " alternating" : ""
    } after a warm-up upload to each; the **median** of each counts (best rounds for information). ${
      conditioning(upload.settleMs)
    } Each row names its baseline. RSS (VmRSS) sampled every 20 ms.`,
    "",
    table(
      ["measure", "service", "baseline", "ratio", "target", "result"],
      rows,
    ),
    "",
    serverAccount(upload),
    ...cpuAccount(upload),
  ].join("\n");
}

function serverAccount(upload: UploadBenchResult): string {
  const server = upload.service.server ?? {};
  const serverFigure = (key: string) => {
    const value = server[key];
    return typeof value === "number" ? `${formatValue(value)} ms` : "—";
  };
  return `The service's own account of its best round: bound **${
    upload.service.bound ?? "—"
  }**, reader in body reads (the network) ${
    serverFigure("readerWaitMs")
  }, reader blocked in put on a full queue ${
    serverFigure("readerBlockedMs")
  }, writer in storage writes ${
    serverFigure("writerWriteMs")
  }, writer idle in get on an empty queue ${
    serverFigure("writerIdleMs")
  }, writer waiting on the SHA-256 ${serverFigure("writerHashWaitMs")}.`;
}

/** The chart group of the big upload (medians). */
export function uploadChartGroup(upload: UploadBenchResult): BarGroup {
  const m = upload.medianMiBPerSecond;
  const notes = [`${formatRatio(m.service / m.baseline)} × pipe`];
  if (m.fastApi !== undefined) {
    notes.push(`${formatRatio(m.service / m.fastApi)} × FastAPI`);
  }
  const bars = [
    {
      label: "service (POST /files)",
      value: m.service,
      note: notes.join(" · "),
    },
    { label: "pipeTo file", value: m.baseline, baseline: true },
  ];
  if (m.baselineFsync !== undefined) {
    bars.push({
      label: "pipeTo file + fsync",
      value: m.baselineFsync,
      baseline: true,
    });
  }
  if (m.fastApi !== undefined) {
    bars.push({ label: "FastAPI peer", value: m.fastApi, baseline: true });
  }
  bars.push({
    label: "SHA-256 alone, one core",
    value: m.sha256,
    baseline: true,
  });
  return {
    title: `Upload ${
      formatBytes(upload.bytes)
    } — MiB/s (curl -T over loopback, median of ${upload.rounds})`,
    unit: "MiB/s",
    bars,
    target: {
      value: UPLOAD_TARGETS.vsPipe * m.baseline,
      label: `target ≥ ${UPLOAD_TARGETS.vsPipe} × pipe`,
    },
  };
}

/** Summary lines of the upload step. */
export function uploadSummary(upload: UploadBenchResult): string[] {
  const m = upload.medianMiBPerSecond;
  const budget = rssBudgetMiB(upload);
  return [
    `upload ${formatBytes(upload.bytes)} (medians): ${
      formatValue(m.service)
    } MiB/s = ${
      formatRatio(m.service / m.baseline)
    } x pipeTo (target >= ${UPLOAD_TARGETS.vsPipe})${
      m.fastApi === undefined
        ? ""
        : `, ${
          formatRatio(m.service / m.fastApi)
        } x FastAPI (target >= ${UPLOAD_TARGETS.vsFastApi})`
    }${
      m.baselineFsync === undefined
        ? ""
        : `, ${formatRatio(m.service / m.baselineFsync)} x pipeTo + fsync`
    }, ${formatRatio(m.service / m.sha256)} x one core's SHA-256 (${
      formatValue(m.sha256)
    } MiB/s, the ceiling); RSS growth ${
      formatValue(upload.rssGrowthMiB)
    } MiB (target <= ${formatValue(budget)}) ${
      met(upload.rssGrowthMiB <= budget)
    }`,
    `concurrent: ${upload.concurrent.created}/${upload.concurrent.clients} stored in ${
      formatValue(upload.concurrent.wallSeconds)
    } s`,
    `timelines: fast ${upload.timelines.fast.bound}-bound, rate-limited ${upload.timelines.slow.bound}-bound`,
  ];
}

/** The section of the many rate-limited uploads. */
export function concurrentSection(upload: UploadBenchResult): string {
  const c = upload.concurrent;
  const ideal = c.bytesEach / parseCurlRate(c.rate);
  const statuses = Object.entries(c.statuses)
    .map(([status, count]) => `${count} × ${status}`).join(", ");
  return [
    `## ${c.clients} concurrent rate-limited uploads`,
    "",
    `${c.clients} \`curl -T\` uploads of ${
      formatBytes(c.bytesEach)
    } each at once, each limited to ${
      formatBytes(parseCurlRate(c.rate))
    }/s (\`--limit-rate ${c.rate}\`): answers ${statuses}.`,
    "",
    table(["measure", "value", "baseline", "ratio", "target", "result"], [
      [
        "uploads stored (201)",
        String(c.created),
        `${c.clients} sent`,
        formatRatio(c.created / c.clients),
        "all",
        met(c.created === c.clients),
      ],
      [
        "wall time vs the rate limit's own time",
        `${formatValue(c.wallSeconds)} s`,
        `${formatValue(ideal)} s`,
        formatRatio(c.wallSeconds / ideal),
        "—",
        "info (1.00: the clients set the pace)",
      ],
      [
        "RSS peak vs idle",
        `${formatValue(c.peakRssBytes / MiB)} MiB`,
        `${formatValue(c.idleRssBytes / MiB)} MiB`,
        formatRatio(c.peakRssBytes / c.idleRssBytes),
        "—",
        "info",
      ],
    ]),
  ].join("\n");
}

function timelineRow(name: string, traced: TracedUpload): string[] {
  const totals = laneTotals(traced.events);
  const ms = (value: number | undefined) => `${formatValue(value ?? 0)} ms`;
  return [
    name,
    formatBytes(traced.bytes),
    traced.rate ? `${formatBytes(parseCurlRate(traced.rate))}/s` : "none",
    `${formatValue(traced.seconds * 1000)} ms`,
    ms(totals.reader?.["read-wait"]),
    ms(totals.reader?.["put-blocked"]),
    ms(totals.writer?.write),
    ms(totals.writer?.["get-idle"]),
    `**${traced.bound ?? "—"}**`,
  ];
}

/** The section of the reader/writer timelines. */
export function timelineSection(
  upload: UploadBenchResult,
  dir: string,
): string {
  const { fast, slow } = upload.timelines;
  return [
    `## Reader/writer timelines`,
    "",
    `One upload each at \`LOG_LEVEL=debug\`, drawn from its \`upload.trace\` records. The reader lane is blue while the reader waits on the network (read-wait) and red while it waits on a full queue (put-blocked); the writer lane is green while it writes and yellow while it waits on an empty queue (get-idle). Over loopback the network outruns the disk, so the reader should end up blocked on a full queue (write-bound); under a rate limit the writer should wait on an empty queue (read-bound). Measured here: fast **${
      fast.bound ?? "—"
    }-bound**, rate-limited **${
      slow.bound ?? "—"
    }-bound** (the service's own verdict, from its 201: write-bound when the reader spent longer blocked than the writer spent idle).`,
    "",
    `As traced, put-blocked is the time inside the queue's put alone; the work between a read and its put (size checks, at debug level the trace record; the SHA-256 runs on a worker thread) is CPU time, drawn as neither.`,
    "",
    table([
      "upload",
      "size",
      "rate limit",
      "duration",
      "read-wait",
      "put-blocked",
      "write",
      "get-idle",
      "bound",
    ], [
      timelineRow("fast", fast),
      timelineRow("rate-limited", slow),
    ]),
    "",
    `![Timeline of a fast upload](${
      relative(dir, join(dir, UPLOAD_CHARTS.timelineFast))
    })`,
    "",
    `![Timeline of a rate-limited upload](${
      relative(dir, join(dir, UPLOAD_CHARTS.timelineLimited))
    })`,
  ].join("\n");
}

/** The timeline chart of one traced upload. */
export function uploadTimelineChart(traced: TracedUpload): Promise<string> {
  const bins = 360;
  const title = traced.rate !== undefined
    ? `Upload of ${
      formatBytes(traced.bytes)
    } at curl --limit-rate ${traced.rate}`
    : `Upload of ${formatBytes(traced.bytes)} over loopback, no rate limit`;
  return timelineChart({
    title,
    subtitle:
      `Reader and writer tasks of one POST /files (LOG_LEVEL=debug trace), ${
        formatValue(traced.seconds * 1000)
      } ms as curl saw it.\nTime is cut into ${bins} columns, each stacking the share of its time a task spent in each state:\nwaits far shorter than a pixel still add up; the grey left over is CPU work.`,
    bound: traced.bound,
    bins,
    events: traced.events,
  });
}
