/**
 * Runs every benchmark and writes the report: `bench/RESULTS.md` with each
 * figure as a ratio against a baseline measured in the same run, and the
 * SVG charts next to it (`throughput.svg`, `timeline_fast.svg`,
 * `timeline_limited.svg`).
 *
 * 1. `cached`: cached `GET /posts/1` of the service (`deno task start` and
 *    `deno serve --parallel`) against its peers: nginx `proxy_cache` with 1
 *    and 2 workers, a feature-equivalent `Deno.serve` and a minimal one,
 *    each target judged on ratios of peers measured back to back
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
 * deno task bench --quick                # 256 MiB upload, short wrk runs
 * deno task bench --only upload --out /tmp/report/RESULTS.md
 * ```
 *
 * The exit code is 1 when a step failed (the report still shows the others)
 * and 2 on bad flags or missing prerequisites; a target not met is reported,
 * not an error.
 *
 * @module
 */

import { relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchCachedGet } from "./cached_get.ts";
import { hasCommand } from "./lib.ts";
import { missingCephExecutables } from "../tests/fixtures/ceph_installed.ts";
import { benchRedisTier, benchStampede } from "./redis_bench.ts";
import { benchS3Upload } from "./s3_bench.ts";
import {
  formatBytes,
  formatNs,
  formatRatio,
  isError,
  parseCurlRate,
} from "./report_format.ts";
import {
  benchUpload,
  type BenchUploadOptions,
  fastApiMissing,
} from "./upload.ts";
import { MICRO_FILES, runMicroBenchmarks } from "./micro.ts";
import {
  type MachineInfo,
  type RunResults,
  type Step,
  STEPS,
  summaryLines,
  writeReport,
} from "./report.ts";

export { formatBytes, formatNs, formatRatio, parseCurlRate };
export { parseDenoBench } from "./micro.ts";
export { renderReport, type RunResults, STEPS, writeReport } from "./report.ts";

const MiB = 1024 * 1024;
const DEFAULT_OUT = new URL("./RESULTS.md", import.meta.url).pathname;
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

const USAGE =
  `Usage: deno task bench [--quick] [--only cached|upload|redis|stampede|s3|micro[,...]] [--out bench/RESULTS.md]

  --quick   smaller sizes and shorter runs (256 MiB upload, 1-2 s wrk runs)
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

/** What the command line asks for. */
interface RunOptions {
  steps: Step[];
  out: string;
  quick: boolean;
}

/**
 * The options of `args`, or the exit code to end with: 0 after `--help`,
 * 2 on bad flags (each said on stderr with the usage).
 */
function optionsOf(args: string[]): RunOptions | number {
  let values;
  try {
    ({ values } = parseArgs({
      args,
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
  return { steps, out: resolve(values.out), quick: values.quick };
}

/** What `steps` need that is missing here, each with how to install it. */
async function missingPrerequisites(steps: Step[]): Promise<string[]> {
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
  return missing;
}

/** The steps of the service alone (cached GET, upload), each failing on its own. */
async function runServiceSteps(
  results: RunResults,
  steps: Step[],
  log: (message: string) => void,
): Promise<void> {
  const quick = results.quick;
  if (steps.includes("cached")) {
    log(
      "cached GET: async-api, --parallel, feature-equivalent and its ladder down to minimal, nginx 1 and 2 workers ...",
    );
    // Full: 9 rounds of 2 s runs, 3 processes of each paired Deno peer
    // (the defaults); quick: 2 rounds of 1 s runs, one process each.
    results.cached = await capture(() =>
      benchCachedGet(quick ? { seconds: 1, rounds: 2, instances: 1 } : {})
    );
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
    results.upload = await capture(() => benchUpload(options));
  }
}

async function main(): Promise<number> {
  const options = optionsOf(Deno.args);
  if (typeof options === "number") return options;
  const { steps, out, quick } = options;
  const missing = await missingPrerequisites(steps);
  if (missing.length > 0) {
    printErr(`error: missing prerequisites:\n  ${missing.join("\n  ")}`);
    return 2;
  }

  const results: RunResults = {
    quick,
    steps,
    machine: await machineInfo(),
  };
  const log = (message: string) =>
    print(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

  await runServiceSteps(results, steps, log);
  await runEngineSteps(results, steps, log);
  if (steps.includes("micro")) {
    log(`deno bench ${MICRO_FILES.join(" ")} ...`);
    results.micro = await capture(() => runMicroBenchmarks());
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
