/**
 * Benchmark: upload throughput and memory of the service against a minimal
 * `Deno.serve` that pipes the body straight into a file
 * (`bench/pipe_server.ts`), both in the same run, both driven by `curl -T`
 * from a file of random bytes over loopback (curl spends the least CPU of
 * the clients at hand, which matters on a small machine).
 *
 * 1. Throughput: a big upload (1 GiB by default) to each, rounds
 *    alternating after one unmeasured big upload to each; the best round
 *    of each counts (medians are reported too: page-cache writeback makes
 *    single rounds noisy). Reported in MiB/s
 *    with the ratio service/baseline (target: at least 0.9), also against a
 *    baseline that fsyncs before its 201 as the service does, the service's
 *    idle and peak resident memory (VmRSS sampled every 20 ms; target: peak
 *    at most idle + 64 MiB) and the upload's `bound` from the 201.
 * 2. Many slow clients: 100 uploads of 4 MiB at once, each limited to
 *    1 MiB/s by curl: how many got 201, peak RSS, wall time.
 * 3. Traces: one fast and one rate-limited upload to the service at
 *    `LOG_LEVEL=debug`; their `upload.trace` records become timelines of
 *    `{ task, op, startMs, endMs }` for charts.
 *
 * Run alone with `deno run -A bench/upload.ts [--bytes N] [--rounds N]
 * [--concurrent N] [--concurrent-bytes N] [--tmp-dir DIR]
 * [--no-fsync-baseline] [--no-fastapi] [--out result.json]` (it prints a summary without
 * the timeline arrays; `--out` writes everything), or import
 * {@linkcode benchUpload}.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../tests/fixtures/free_port.ts";
import {
  type BenchServer,
  hasCommand,
  rssOf,
  serviceCommand,
  startServer,
} from "./lib.ts";
import {
  type CurlUpload,
  curlUpload,
  emptyDir,
  makeRandomFile,
  sampleRss,
  syncDisks,
} from "./upload_tools.ts";
import { cpuPerGiB, threadTimes } from "./thread_cpu.ts";
import {
  type TimelineEvent,
  type TracedUpload,
  tracedUpload,
} from "./upload_trace.ts";

export { curlUpload, makeRandomFile, sampleRss };
export type { CurlUpload, TimelineEvent, TracedUpload };
export { toTimeline } from "./upload_trace.ts";

const MiB = 1024 * 1024;
const PIPE_SERVER = new URL("./pipe_server.ts", import.meta.url).pathname;
const FASTAPI_SERVER = new URL("./fastapi_server.py", import.meta.url)
  .pathname;
/** Debian's Python, where apt puts FastAPI (not a pyenv or venv one). */
const PYTHON = "/usr/bin/python3";
/** The service's default `UPLOAD_QUEUE_BYTES`, which the bench keeps. */
export const UPLOAD_QUEUE_BYTES = 8 * MiB;

/**
 * Why the FastAPI peer cannot run here, or undefined when it can: Debian's
 * python3 with fastapi, uvicorn, uvloop and httptools.
 */
export async function fastApiMissing(): Promise<string | undefined> {
  const hint =
    "apt-get install -y --no-install-recommends python3-fastapi python3-uvicorn python3-uvloop python3-httptools";
  try {
    const { success } = await new Deno.Command(PYTHON, {
      args: ["-c", "import fastapi, uvicorn, uvloop, httptools"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : `the FastAPI upload peer: ${hint}`;
  } catch {
    return `${PYTHON} (the FastAPI upload peer): ${hint}`;
  }
}

/** Options of {@linkcode benchUpload}. */
export interface BenchUploadOptions {
  /** Size of the throughput upload. @default {1073741824} */
  bytes?: number;
  /** Throughput rounds per server (best counts). @default {3} */
  rounds?: number;
  /**
   * Where the temporary folder (random source files, data dirs) is made;
   * e.g. `/dev/shm` to take the disk out of the comparison.
   * @default {the system temp folder}
   */
  tmpDir?: string;
  /** Also measure a baseline that fsyncs before answering. @default {true} */
  fsyncBaseline?: boolean;
  /** Also measure the seed's FastAPI design as a peer. @default {true} */
  fastApiPeer?: boolean;
  /** Slow clients at once. @default {100} */
  concurrent?: number;
  /** Size of each slow client's upload. @default {4194304} */
  concurrentBytes?: number;
  /** Rate limit of each slow client (curl `--limit-rate`). @default {"1M"} */
  concurrentRate?: string;
  /** Size of the fast traced upload. @default {33554432} */
  traceBytes?: number;
  /** Size of the rate-limited traced upload. @default {8388608} */
  traceSlowBytes?: number;
  /** Rate of the rate-limited traced upload. @default {"2M"} */
  traceSlowRate?: string;
  /** RSS sampling period. @default {20} */
  sampleMs?: number;
}

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
}

/** Figures of the upload benchmark. */
export interface UploadBenchResult {
  bytes: number;
  rounds: number;
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
  };
  /** The service's upload queue capacity in this run, bytes. */
  queueBytes: number;
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

async function throughputRound(
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
  };
  const bound = upload.body?.bound;
  if (typeof bound === "string") {
    run.bound = bound;
    const {
      durationMs,
      bytesPerSecond,
      readerWaitMs,
      readerBlockedMs,
      writerWriteMs,
      writerIdleMs,
      maxQueuedBytes,
    } = upload.body ?? {};
    run.server = {
      durationMs,
      bytesPerSecond,
      readerWaitMs,
      readerBlockedMs,
      writerWriteMs,
      writerIdleMs,
      maxQueuedBytes,
    };
  }
  return run;
}

const round = (n: number, digits = 2) =>
  Math.round(n * 10 ** digits) / 10 ** digits;

function median(runs: ThroughputRun[]): number {
  const sorted = runs.map((r) => r.mibPerSecond).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

function best(runs: ThroughputRun[]): ThroughputRun {
  return runs.reduce((a, b) => (a.mibPerSecond >= b.mibPerSecond ? a : b));
}

/** Runs the upload benchmark (needs `curl`). */
export async function benchUpload(
  options: BenchUploadOptions = {},
): Promise<UploadBenchResult> {
  const {
    bytes = 1024 * MiB,
    rounds = 3,
    tmpDir,
    fsyncBaseline = true,
    fastApiPeer = true,
    concurrent = 100,
    concurrentBytes = 4 * MiB,
    concurrentRate = "1M",
    traceBytes = 32 * MiB,
    traceSlowBytes = 8 * MiB,
    traceSlowRate = "2M",
    sampleMs = 20,
  } = options;
  if (!(await hasCommand("curl"))) throw new Error("curl is not installed");

  const tmp = await Deno.makeTempDir({
    prefix: "bench-upload-",
    ...(tmpDir === undefined ? {} : { dir: tmpDir }),
  });
  try {
    const bigFile = join(tmp, "big.bin");
    const smallFile = join(tmp, "small.bin");
    const traceFile = join(tmp, "trace.bin");
    const traceSlowFile = join(tmp, "trace-slow.bin");
    await makeRandomFile(bigFile, bytes);
    await makeRandomFile(smallFile, concurrentBytes);
    await makeRandomFile(traceFile, traceBytes);
    await makeRandomFile(traceSlowFile, traceSlowBytes);
    for (
      const dir of [
        "service",
        "baseline",
        "baseline-fsync",
        "fastapi",
        "traced",
      ]
    ) {
      await Deno.mkdir(join(tmp, dir));
    }

    const serviceArgs = (dataDir: string, extra: string[] = []) =>
      serviceCommand([
        "--upstream-url",
        "http://127.0.0.1:9",
        "--data-dir",
        dataDir,
        "--max-upload-bytes",
        String(Math.max(bytes, concurrentBytes, traceBytes) * 2),
        "--upload-queue-bytes",
        String(UPLOAD_QUEUE_BYTES),
        ...extra,
      ]);

    // 1. Throughput and memory, rounds alternating.
    const runs = {
      service: [] as ThroughputRun[],
      baseline: [] as ThroughputRun[],
    };
    const fsyncRuns: ThroughputRun[] = [];
    const fastApiRuns: ThroughputRun[] = [];
    let concurrentResult: UploadBenchResult["concurrent"];
    let serviceIdleRssBytes = Infinity;
    {
      await using service = await startServer(
        serviceArgs(join(tmp, "service"), [
          "--max-concurrent-uploads",
          "128",
          // Every curl of the benchmark comes from 127.0.0.1: the
          // per-client cap would turn most of the 100 into 429s.
          "--max-uploads-per-client",
          "0",
        ]),
      );
      await using baseline = await startServer([
        Deno.execPath(),
        "run",
        "-A",
        PIPE_SERVER,
        join(tmp, "baseline"),
      ]);
      await using baselineFsync = await startServer([
        Deno.execPath(),
        "run",
        "-A",
        PIPE_SERVER,
        join(tmp, "baseline-fsync"),
        "--fsync",
      ]);
      await using fastApi = fastApiPeer
        ? await startServer([
          PYTHON,
          FASTAPI_SERVER,
          join(tmp, "fastapi"),
          String(freePort()),
        ])
        : undefined;
      const serviceFiles = join(tmp, "service", "files");
      // Warm both up (JIT, first file) with a small upload.
      const others = fastApi
        ? [[fastApi, "/file", join(tmp, "fastapi")] as const]
        : [];
      for (
        const [server, path] of [
          [service, "/files"],
          [baseline, "/"],
          [baselineFsync, "/"],
          ...others,
        ] as const
      ) {
        const warm = await curlUpload(smallFile, `${server.url}${path}`);
        if (warm.status !== 201) throw new Error(`warm-up got ${warm.status}`);
      }
      // The service's idle memory before any big upload: the RSS target is
      // measured from here, not from after the big warm-up below.
      const freshIdleRssBytes = await rssOf(service.pid);
      // One unmeasured big upload to each: the first GiB of page cache
      // written after the source files are made was far slower here
      // (baseline round 1 at 280-380 MiB/s, later rounds 750-1130), a
      // penalty that fell on whichever server went first.
      for (
        const [server, path, dir] of [
          [baseline, "/", join(tmp, "baseline")],
          [service, "/files", serviceFiles],
          [baselineFsync, "/", join(tmp, "baseline-fsync")],
          ...others,
        ] as const
      ) {
        await syncDisks();
        const warm = await curlUpload(bigFile, `${server.url}${path}`);
        if (warm.status !== 201) throw new Error(`warm-up got ${warm.status}`);
        await emptyDir(dir);
      }
      await emptyDir(serviceFiles);
      await emptyDir(join(tmp, "baseline"));
      await emptyDir(join(tmp, "baseline-fsync"));
      await emptyDir(join(tmp, "fastapi"));
      serviceIdleRssBytes = freshIdleRssBytes;

      for (let i = 0; i < rounds; i++) {
        runs.baseline.push(
          await throughputRound(
            baseline,
            "/",
            bigFile,
            join(tmp, "baseline"),
            tmp,
            sampleMs,
          ),
        );
        runs.service.push(
          await throughputRound(
            service,
            "/files",
            bigFile,
            serviceFiles,
            tmp,
            sampleMs,
          ),
        );
        if (fsyncBaseline) {
          fsyncRuns.push(
            await throughputRound(
              baselineFsync,
              "/",
              bigFile,
              join(tmp, "baseline-fsync"),
              tmp,
              sampleMs,
            ),
          );
        }
        if (fastApi) {
          fastApiRuns.push(
            await throughputRound(
              fastApi,
              "/file",
              bigFile,
              join(tmp, "fastapi"),
              tmp,
              sampleMs,
            ),
          );
        }
      }

      // 2. Many slow clients at once.
      await syncDisks();
      const idleRssBytes = await rssOf(service.pid);
      const sampler = sampleRss(service.pid, sampleMs);
      const started = performance.now();
      let uploads: CurlUpload[];
      let peakRssBytes = 0;
      try {
        uploads = await Promise.all(
          Array.from(
            { length: concurrent },
            () =>
              curlUpload(smallFile, `${service.url}/files`, {
                out: "/dev/null",
                rate: concurrentRate,
              }),
          ),
        );
      } finally {
        peakRssBytes = await sampler.stop();
      }
      const wallSeconds = (performance.now() - started) / 1000;
      const statuses: Record<string, number> = {};
      for (const upload of uploads) {
        statuses[upload.status] = (statuses[upload.status] ?? 0) + 1;
      }
      concurrentResult = {
        clients: concurrent,
        bytesEach: concurrentBytes,
        rate: concurrentRate,
        created: statuses["201"] ?? 0,
        statuses,
        wallSeconds: round(wallSeconds),
        idleRssBytes,
        peakRssBytes,
      };
      await emptyDir(serviceFiles);
    }

    // 3. Reader/writer traces of a fast and a rate-limited upload.
    let fast: TracedUpload;
    let slow: TracedUpload;
    {
      await using traced = await startServer(
        serviceArgs(join(tmp, "traced"), ["--log-level", "debug"]),
      );
      const warm = await curlUpload(smallFile, `${traced.url}/files`);
      if (warm.status !== 201) throw new Error(`warm-up got ${warm.status}`);
      fast = await tracedUpload(traced, traceFile, traceBytes, undefined, tmp);
      slow = await tracedUpload(
        traced,
        traceSlowFile,
        traceSlowBytes,
        traceSlowRate,
        tmp,
      );
    }

    const service = best(runs.service);
    const baseline = best(runs.baseline);
    const result: UploadBenchResult = {
      bytes,
      rounds,
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
      },
      queueBytes: UPLOAD_QUEUE_BYTES,
      dataDir: tmp,
      runs: { ...runs, baselineFsync: fsyncRuns, fastApi: fastApiRuns },
      concurrent: concurrentResult,
      timelines: { fast, slow },
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
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      bytes: { type: "string" },
      rounds: { type: "string" },
      concurrent: { type: "string" },
      "concurrent-bytes": { type: "string" },
      "no-fsync-baseline": { type: "boolean" },
      "no-fastapi": { type: "boolean" },
      "tmp-dir": { type: "string" },
      out: { type: "string" },
    },
  });
  const number = (value: string | undefined) =>
    value === undefined ? undefined : Number(value);
  const options: BenchUploadOptions = {};
  if (values.bytes !== undefined) options.bytes = number(values.bytes)!;
  if (values.rounds !== undefined) options.rounds = number(values.rounds)!;
  if (values.concurrent !== undefined) {
    options.concurrent = number(values.concurrent)!;
  }
  if (values["concurrent-bytes"] !== undefined) {
    options.concurrentBytes = number(values["concurrent-bytes"])!;
  }
  if (values["no-fsync-baseline"]) options.fsyncBaseline = false;
  if (values["no-fastapi"]) options.fastApiPeer = false;
  if (values["tmp-dir"] !== undefined) options.tmpDir = values["tmp-dir"];
  const result = await benchUpload(options);
  if (values.out) {
    await Deno.writeTextFile(values.out, JSON.stringify(result, null, 2));
  }
  // deno-lint-ignore no-console
  console.log(JSON.stringify(summarize(result), null, 2));
}
