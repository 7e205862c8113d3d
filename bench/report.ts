/**
 * The benchmark report: what one run measured ({@linkcode RunResults}),
 * rendered as `RESULTS.md` with the charts next to it, and the summary
 * lines printed at the end of a run.
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import type { CachedGetResult } from "./cached_get.ts";
import {
  cachedChartGroup,
  cachedSection,
  cachedSummary,
} from "./cached_report.ts";
import { type RedisTierResult, type StampedeResult } from "./redis_bench.ts";
import { type S3UploadResult } from "./s3_bench.ts";
import {
  enginesSummary,
  redisSection,
  s3Section,
  stampedeSection,
} from "./engines_report.ts";
import { barChart, type BarGroup } from "./charts.ts";
import {
  formatBytes,
  formatNs,
  formatRatio,
  isError,
  parseCurlRate,
  table,
} from "./report_format.ts";

export { formatBytes, formatNs, formatRatio, parseCurlRate };
import {
  concurrentSection,
  timelineSection,
  UPLOAD_CHARTS,
  uploadChartGroup,
  uploadSection,
  uploadSummary,
  uploadTimelineChart,
} from "./upload_report.ts";
import type { UploadBenchResult } from "./upload_result.ts";

import { type MicroResult, microSection } from "./micro.ts";
const ROOT = new URL("..", import.meta.url).pathname;

/** The steps `--only` can pick. */
export const STEPS = [
  "cached",
  "upload",
  "redis",
  "stampede",
  "s3",
  "micro",
] as const;
/** One step of the run. */
export type Step = typeof STEPS[number];

/** Where and on what the benchmarks ran. */
export interface MachineInfo {
  date: string;
  nproc: number;
  cpu: string;
  os: string;
  deno: string;
  v8: string;
  typescript: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

/** Everything one run measured; a failed step has its error instead. */
export interface RunResults {
  quick: boolean;
  steps: Step[];
  machine: MachineInfo;
  cached?: CachedGetResult | { error: string };
  upload?: UploadBenchResult | { error: string };
  redis?: RedisTierResult | { error: string };
  stampede?: StampedeResult | { error: string };
  s3?: S3UploadResult | { error: string };
  micro?: MicroResult[] | { error: string };
}

/** The names of the charts, next to the report. */
export const CHARTS = {
  throughput: "throughput.svg",
  ...UPLOAD_CHARTS,
} as const;

/** The groups of the throughput chart: each service against its baselines. */
export function throughputGroups(results: RunResults): BarGroup[] {
  const groups: BarGroup[] = [];
  const { cached, upload } = results;
  if (cached && !isError(cached)) groups.push(cachedChartGroup(cached));
  if (upload && !isError(upload)) groups.push(uploadChartGroup(upload));
  return groups;
}

/** The throughput chart, when the run measured any throughput. */
export function throughputChart(
  results: RunResults,
): Promise<string> | undefined {
  const groups = throughputGroups(results);
  if (groups.length === 0) return undefined;
  const { machine } = results;
  return barChart({
    title: "Throughput against baselines measured in the same run",
    subtitle: `${
      machine.date.slice(0, 10)
    } · ${machine.nproc} cores · Deno ${machine.deno}${
      results.quick ? " · --quick" : ""
    }`,
    groups,
  });
}

function engineParts(results: RunResults): string[] {
  const parts: string[] = [];
  const { redis, stampede, s3 } = results;
  const add = <T>(
    value: T | { error: string } | undefined,
    title: string,
    render: (value: T) => string,
  ) => {
    if (value === undefined) return;
    parts.push(
      "",
      isError(value)
        ? `## ${title}\n\nFailed: \`${value.error}\``
        : render(value),
    );
  };
  add(redis, "Cached GET through the Redis tier", redisSection);
  add(stampede, "Stampede across instances sharing Redis", stampedeSection);
  add(s3, "Upload into radosgw (S3)", s3Section);
  return parts;
}

/** The report's title, how it was made and the machine it ran on. */
function reportHead(results: RunResults): string[] {
  const { machine } = results;
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(" ");
  return [
    `# Benchmark results`,
    "",
    `Written by \`deno task bench${results.quick ? " --quick" : ""}${
      results.steps.length < STEPS.length
        ? ` --only ${results.steps.join(",")}`
        : ""
    }\` (\`bench/run.ts\`); do not edit by hand. Every figure is set against a baseline measured in the same run, on the same machine, so the ratios are what to compare across machines, not the absolute numbers. The machine's cores are shared with other work (the load average below says how much): the load generator, the peers and unrelated jobs compete for them, so absolute figures and above all p99 latencies are noisy; medians of interleaved rounds soften that (the cached-GET targets go further: ratios of peers measured back to back, with their spread, and "inconclusive" when the spread straddles a target), a rerun confirms.`,
    "",
    table(["", ""], [
      ["date", machine.date],
      ["machine", `${machine.nproc} cores (\`nproc\`), ${machine.cpu || "?"}`],
      ["OS", machine.os],
      [
        "Deno",
        `${machine.deno} (V8 ${machine.v8}, TypeScript ${machine.typescript})`,
      ],
      [
        "load average (1/5/15 min)",
        `${load(machine.loadAverageStart)} at the start, ${
          load(machine.loadAverageEnd)
        } at the end (a shared machine: other work ran alongside)`,
      ],
      [
        "mode",
        results.quick ? "`--quick` (smaller sizes, shorter runs)" : "full",
      ],
    ]),
  ];
}

/** The Markdown report; `dir` is where it and the charts are written. */
export function renderReport(results: RunResults, dir: string): string {
  const parts = reportHead(results);
  const { cached, upload, micro } = results;
  if (throughputGroups(results).length > 0) {
    parts.push(
      "",
      `![Throughput against the baselines](${
        relative(dir, join(dir, CHARTS.throughput))
      })`,
    );
  }
  if (cached) {
    parts.push(
      "",
      isError(cached)
        ? `## Cached GET: async-api and its peers\n\nFailed: \`${cached.error}\``
        : cachedSection(cached),
    );
  }
  if (upload) {
    if (isError(upload)) {
      parts.push(
        "",
        `## Upload vs a minimal pipe-to-file server\n\nFailed: \`${upload.error}\``,
      );
    } else {
      parts.push(
        "",
        uploadSection(upload),
        "",
        concurrentSection(upload),
        "",
        timelineSection(upload, dir),
      );
    }
  }
  parts.push(...engineParts(results));
  if (micro) {
    parts.push(
      "",
      isError(micro)
        ? `## Micro-benchmarks\n\nFailed: \`${micro.error}\``
        : microSection(micro),
    );
  }
  return parts.join("\n") + "\n";
}

/** Writes the report and its charts; resolves the paths written. */
export async function writeReport(
  results: RunResults,
  out: string,
): Promise<string[]> {
  const dir = dirname(out);
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  const write = async (path: string, content: string) => {
    await Deno.writeTextFile(path, content);
    written.push(path);
  };
  const throughput = await throughputChart(results);
  if (throughput) await write(join(dir, CHARTS.throughput), throughput);
  const { upload } = results;
  if (upload && !isError(upload)) {
    await write(
      join(dir, CHARTS.timelineFast),
      await uploadTimelineChart(upload.timelines.fast),
    );
    await write(
      join(dir, CHARTS.timelineLimited),
      await uploadTimelineChart(upload.timelines.slow),
    );
  }
  await formatSvgs(written);
  await write(out, renderReport(results, dir));
  return written;
}

/**
 * Runs `deno fmt` on the charts, since it formats SVG files too: committed
 * charts then pass `deno fmt --check` as they are.
 */
async function formatSvgs(paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...paths],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`deno fmt failed: ${new TextDecoder().decode(stderr)}`);
  }
}

export function summaryLines(results: RunResults): string[] {
  const lines: string[] = [];
  const { cached, upload, micro } = results;
  if (cached) {
    if (isError(cached)) lines.push(`cached GET: FAILED ${cached.error}`);
    else lines.push(...cachedSummary(cached));
  }
  if (upload) {
    if (isError(upload)) lines.push(`upload: FAILED ${upload.error}`);
    else lines.push(...uploadSummary(upload));
  }
  for (const step of ["redis", "stampede", "s3"] as const) {
    const value = results[step];
    if (isError(value)) lines.push(`${step}: FAILED ${value.error}`);
  }
  const ok = <T>(value: T | { error: string } | undefined) =>
    value === undefined || isError(value) ? undefined : value;
  lines.push(
    ...enginesSummary(ok(results.redis), ok(results.stampede), ok(results.s3)),
  );
  if (micro) {
    if (isError(micro)) {
      lines.push(`micro: FAILED ${micro.error}`);
    } else {
      for (const row of micro.filter((r) => !r.baseline)) {
        lines.push(
          `micro: ${row.name} [${row.group}]: ${formatNs(row.avgNs)} = ${
            formatRatio(row.ratio)
          } x baseline`,
        );
      }
    }
  }
  return lines;
}
