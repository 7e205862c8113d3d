/**
 * Runs every benchmark and writes the report: `bench/RESULTS.md` with each
 * figure as a ratio against a baseline measured in the same run, and the
 * SVG charts next to it (`throughput.svg`, `timeline_fast.svg`,
 * `timeline_limited.svg`).
 *
 * 1. `cached`: cached `GET /posts/1` of the service (`deno task start` and
 *    `deno serve --parallel`) against its peers: nginx `proxy_cache` with 1
 *    and 2 workers, a feature-equivalent `Deno.serve` and a minimal one
 *    ({@linkcode benchCachedGet}, needs `wrk`, `nginx` and Node for the
 *    upstream).
 * 2. `upload`: a big upload against a minimal pipe-to-file server and the
 *    seed's FastAPI design (`bench/fastapi_server.py`), 100
 *    concurrent rate-limited uploads, and the reader/writer timelines of one
 *    fast and one rate-limited upload ({@linkcode benchUpload}, needs
 *    `curl`).
 * 3. `redis`, `stampede`, `s3` (issue 10, real engines): cached GET from the
 *    Redis tier with a cold in-process tier vs the in-memory hit; 100
 *    concurrent misses across 3 instances sharing Redis; a big upload into
 *    radosgw vs a plain multipart upload ({@linkcode benchRedisTier},
 *    {@linkcode benchStampede}, {@linkcode benchS3Upload}; need
 *    `redis-server` and Ceph).
 * 4. `micro`: `deno bench` of the bounded queue and the response cache
 *    (`bench/queue_bench.ts`, `bench/cache_bench.ts`), each bench as a ratio
 *    to its group's baseline.
 *
 * ```sh
 * deno task bench                        # everything, full sizes
 * deno task bench --quick                # 256 MiB upload, 2 s wrk runs
 * deno task bench --only upload --out /tmp/report/RESULTS.md
 * ```
 *
 * The exit code is 1 when a step failed (the report still shows the others)
 * and 2 on bad flags or missing prerequisites; a target not met is reported,
 * not an error.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchCachedGet, type CachedGetResult } from "./cached_get.ts";
import {
  cachedChartGroup,
  cachedSection,
  cachedSummary,
} from "./cached_report.ts";
import { hasCommand } from "./lib.ts";
import { missingCephExecutables } from "../tests/fixtures/ceph.ts";
import {
  benchRedisTier,
  benchStampede,
  type RedisTierResult,
  type StampedeResult,
} from "./redis_bench.ts";
import { benchS3Upload, type S3UploadResult } from "./s3_bench.ts";
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
  met,
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
import {
  benchUpload,
  type BenchUploadOptions,
  fastApiMissing,
  type UploadBenchResult,
} from "./upload.ts";

const MiB = 1024 * 1024;
const ROOT = new URL("..", import.meta.url).pathname;
const DEFAULT_OUT = new URL("./RESULTS.md", import.meta.url).pathname;
const MICRO_FILES = ["bench/queue_bench.ts", "bench/cache_bench.ts"];

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

/**
 * Targets of micro-benchmarks, as the most `avg / group baseline avg` may be,
 * keyed by group and bench name; benches not listed are for information.
 */
export const MICRO_TARGETS: ReadonlyArray<
  { group: string; name: string; maxRatio: number; why: string }
> = [
  {
    group: "queue handoff (64 KiB chunk)",
    name: "BoundedQueue put + get",
    maxRatio: 1,
    why: "no dearer per chunk than a stream hop",
  },
  {
    group: "queue backpressure (8 MiB through 1 MiB)",
    name: "BoundedQueue, capacityBytes 1 MiB",
    maxRatio: 1,
    why: "waiting no dearer than a bounded TransformStream",
  },
  {
    group: "cache hit vs response",
    name: "ResponseCache get (hit)",
    maxRatio: 0.5,
    why: "under half the least work of any response",
  },
];

/** One `deno bench` result with its ratio to the group's baseline. */
export interface MicroResult {
  group: string;
  name: string;
  baseline: boolean;
  /** Mean time per iteration, ns. */
  avgNs: number;
  /** 75th percentile, ns (less swayed by the noise of a shared machine). */
  p75Ns: number;
  /** Iterations (or batches of iterations) measured. */
  n: number;
  /** avg / the group baseline's avg. */
  ratio: number | undefined;
  /** p75 / the group baseline's p75. */
  ratioP75: number | undefined;
}

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

interface DenoBenchJson {
  cpu?: string;
  benches: Array<{
    origin: string;
    group: string | null;
    name: string;
    baseline: boolean;
    results: Array<
      {
        ok?: { n: number; avg: number; p75: number };
        failed?: unknown;
      }
    >;
  }>;
}

/**
 * Turns the output of `deno bench --json` into one row per bench, with its
 * ratio to the baseline of its group (`undefined` when the group has none).
 *
 * @throws {Error} when a bench failed.
 */
export function parseDenoBench(json: DenoBenchJson): MicroResult[] {
  const rows: MicroResult[] = json.benches.map((bench) => {
    const result = bench.results[0];
    if (!result?.ok) {
      throw new Error(
        `bench "${bench.name}" failed: ${JSON.stringify(result?.failed)}`,
      );
    }
    return {
      group: bench.group ?? "",
      name: bench.name,
      baseline: bench.baseline,
      avgNs: result.ok.avg,
      p75Ns: result.ok.p75,
      n: result.ok.n,
      ratio: undefined,
      ratioP75: undefined,
    };
  });
  for (const row of rows) {
    const base = rows.find((r) => r.baseline && r.group === row.group);
    if (!base) continue;
    row.ratio = row.avgNs / base.avgNs;
    row.ratioP75 = row.p75Ns / base.p75Ns;
  }
  return rows;
}

function print(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

function printErr(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

async function commandText(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, success } = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout).trim() : "";
  } catch {
    return "";
  }
}

async function machineInfo(): Promise<MachineInfo> {
  const nproc = Number(await commandText("nproc", [])) ||
    navigator.hardwareConcurrency;
  let cpu = "";
  try {
    const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "";
  } catch { /* not Linux */ }
  return {
    date: new Date().toISOString(),
    nproc,
    cpu,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    loadAverageStart: Deno.loadavg(),
    loadAverageEnd: [],
  };
}

/** Runs `deno bench --json` on the micro-benchmarks and parses the result. */
export async function runMicroBenchmarks(): Promise<MicroResult[]> {
  const { stdout, stderr, success } = await new Deno.Command(
    Deno.execPath(),
    {
      args: ["bench", "--json", ...MICRO_FILES],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  if (!success) {
    throw new Error(
      `deno bench failed:\n${new TextDecoder().decode(stderr)}`,
    );
  }
  return parseDenoBench(JSON.parse(new TextDecoder().decode(stdout)));
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

/** A micro target counts as met only when both the avg and p75 ratios meet it. */
function microTargetMet(row: MicroResult, maxRatio: number): boolean {
  return row.ratio !== undefined && row.ratioP75 !== undefined &&
    row.ratio <= maxRatio && row.ratioP75 <= maxRatio;
}

function microSection(rows: MicroResult[]): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  const parts = [
    `## Micro-benchmarks (\`deno bench\`)`,
    "",
    `\`deno bench --json ${
      MICRO_FILES.join(" ")
    }\`; each bench against the baseline of its group, in the same file. Ratios are of the mean time per iteration (lower is better) and of the 75th percentile, which is less swayed by the noise of a shared machine; a target is met only when both ratios meet it.`,
  ];
  for (const group of groups) {
    const body = rows.filter((r) => r.group === group).map((row) => {
      const target = MICRO_TARGETS.find((t) =>
        t.group === row.group && t.name === row.name
      );
      return [
        row.baseline ? `${row.name} (baseline)` : row.name,
        formatNs(row.avgNs),
        formatNs(row.p75Ns),
        row.baseline ? "1" : `**${formatRatio(row.ratio)}**`,
        row.baseline ? "1" : formatRatio(row.ratioP75),
        target ? `≤ ${target.maxRatio} (${target.why})` : "—",
        target ? met(microTargetMet(row, target.maxRatio)) : "info",
      ];
    });
    parts.push(
      "",
      `### ${group}`,
      "",
      table(
        [
          "bench",
          "avg",
          "p75",
          "ratio (avg)",
          "ratio (p75)",
          "target",
          "result",
        ],
        body,
      ),
    );
  }
  return parts.join("\n");
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

/** The Markdown report; `dir` is where it and the charts are written. */
export function renderReport(results: RunResults, dir: string): string {
  const { machine } = results;
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(" ");
  const parts = [
    `# Benchmark results`,
    "",
    `Written by \`deno task bench${results.quick ? " --quick" : ""}${
      results.steps.length < STEPS.length
        ? ` --only ${results.steps.join(",")}`
        : ""
    }\` (\`bench/run.ts\`); do not edit by hand. Every figure is set against a baseline measured in the same run, on the same machine, so the ratios are what to compare across machines, not the absolute numbers. The machine's cores are shared with other work (the load average below says how much): the load generator, the peers and unrelated jobs compete for them, so absolute figures and above all p99 latencies are noisy; medians of interleaved rounds soften that, a rerun confirms.`,
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

function summaryLines(results: RunResults): string[] {
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

const USAGE =
  `Usage: deno task bench [--quick] [--only cached|upload|redis|stampede|s3|micro[,...]] [--out bench/RESULTS.md]

  --quick   smaller sizes and shorter runs (256 MiB upload, 2 s wrk runs)
  --only    run only these steps (comma-separated)
  --out     where to write the report; the SVG charts go next to it`;

/** Debian puts nginx in /usr/sbin, which a non-root PATH may lack. */
async function hasNginx(): Promise<boolean> {
  try {
    return (await Deno.stat("/usr/sbin/nginx")).isFile;
  } catch {
    return await hasCommand("nginx");
  }
}

/** The result of `run`, or its failure as `{ error }`. */
async function capture<T>(
  run: () => Promise<T>,
): Promise<T | { error: string }> {
  try {
    return await run();
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The steps on the real engines (issue 10), each failing on its own. */
async function runEngineSteps(
  results: RunResults,
  steps: Step[],
  log: (message: string) => void,
): Promise<void> {
  const quick = results.quick;
  if (steps.includes("redis")) {
    log(
      "cached GET through Redis (cold in-process tier) vs the in-memory hit ...",
    );
    results.redis = await capture(() =>
      benchRedisTier(
        quick ? { seconds: 2, rounds: 1 } : { seconds: 3, rounds: 3 },
      )
    );
  }
  if (steps.includes("stampede")) {
    log("100 concurrent misses across 3 instances sharing Redis ...");
    results.stampede = await capture(() =>
      benchStampede(quick ? { rounds: 1 } : { rounds: 3 })
    );
  }
  if (steps.includes("s3")) {
    const bytes = quick ? 256 * MiB : 1024 * MiB;
    log(
      `upload ${
        formatBytes(bytes)
      } into radosgw vs a plain multipart upload ...`,
    );
    results.s3 = await capture(() =>
      benchS3Upload({ bytes, rounds: quick ? 1 : 2 })
    );
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        out: { type: "string", default: DEFAULT_OUT },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    printErr(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    print(USAGE);
    return 0;
  }
  let steps: Step[] = [...STEPS];
  if (values.only !== undefined) {
    const picked = values.only.split(",").map((s) => s.trim());
    const unknown = picked.filter((s) => !STEPS.includes(s as Step));
    if (unknown.length > 0 || picked.length === 0) {
      printErr(
        `error: --only takes ${
          STEPS.join(", ")
        }; got ${values.only}\n\n${USAGE}`,
      );
      return 2;
    }
    steps = STEPS.filter((s) => picked.includes(s));
  }
  const out = resolve(values.out);
  const quick = values.quick;

  const missing: string[] = [];
  if (steps.includes("cached") && !(await hasCommand("wrk"))) {
    missing.push("wrk (for the cached GET benchmark): apt-get install -y wrk");
  }
  if (steps.includes("cached") && !(await hasNginx())) {
    missing.push(
      "nginx (the cached GET peer): apt-get install -y --no-install-recommends nginx-light",
    );
  }
  if (steps.includes("upload") && !(await hasCommand("curl"))) {
    missing.push("curl (for the upload benchmark): apt-get install -y curl");
  }
  const fastApi = steps.includes("upload") ? await fastApiMissing() : undefined;
  if (fastApi) missing.push(fastApi);
  if (
    (steps.includes("redis") || steps.includes("stampede")) &&
    !(await hasCommand("redis-server"))
  ) {
    missing.push(
      "redis-server (redis, stampede): apt-get install -y --no-install-recommends redis-server",
    );
  }
  if (steps.includes("s3")) {
    const ceph = await missingCephExecutables();
    if (ceph.length > 0) {
      missing.push(
        `${
          ceph.join(", ")
        } (s3): apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common`,
      );
    }
  }
  if (missing.length > 0) {
    printErr(`error: missing prerequisites:\n  ${missing.join("\n  ")}`);
    return 2;
  }

  const results: RunResults = {
    quick,
    steps,
    machine: await machineInfo(),
  };
  const failed = (error: unknown) => ({
    error: error instanceof Error ? error.message : String(error),
  });
  const log = (message: string) =>
    print(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

  if (steps.includes("cached")) {
    log(
      "cached GET: async-api, --parallel, feature-equivalent, nginx 1 and 2 workers, minimal ...",
    );
    try {
      results.cached = await benchCachedGet(
        quick ? { seconds: 2, rounds: 1 } : { seconds: 3, rounds: 3 },
      );
    } catch (error) {
      results.cached = failed(error);
    }
  }
  if (steps.includes("upload")) {
    const options: BenchUploadOptions = quick
      ? {
        bytes: 256 * MiB,
        rounds: 1,
        concurrentBytes: MiB,
        traceBytes: 64 * MiB,
      }
      // A traced upload well past the queue's 8 MiB, so the queue can fill.
      : { traceBytes: 128 * MiB };
    log(
      `upload ${
        formatBytes(options.bytes ?? 1024 * MiB)
      } vs pipe-to-file and FastAPI, ` +
        "100 concurrent rate-limited uploads, traces ...",
    );
    try {
      results.upload = await benchUpload(options);
    } catch (error) {
      results.upload = failed(error);
    }
  }
  await runEngineSteps(results, steps, log);
  if (steps.includes("micro")) {
    log(`deno bench ${MICRO_FILES.join(" ")} ...`);
    try {
      results.micro = await runMicroBenchmarks();
    } catch (error) {
      results.micro = failed(error);
    }
  }
  results.machine.loadAverageEnd = Deno.loadavg();

  const written = await writeReport(results, out);
  print("");
  for (const line of summaryLines(results)) print(line);
  print(`\nwrote ${written.map((p) => relative(Deno.cwd(), p)).join(", ")}`);
  const anyFailed = STEPS.some((step) => isError(results[step]));
  return anyFailed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
