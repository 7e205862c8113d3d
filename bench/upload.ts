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
 * Run alone with `deno run -A bench/upload.ts` and any of `--bytes N`,
 * `--rounds N`, `--concurrent N`, `--concurrent-bytes N`, `--tmp-dir DIR`,
 * `--no-fsync-baseline`, `--no-fastapi`, `--settle-ms N`,
 * `--out result.json` (it prints a summary without the timeline arrays;
 * `--out` writes everything), or import {@linkcode benchUpload}.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../tests/fixtures/free_port.ts";
import { hasCommand, serviceCommand, startServer } from "./lib.ts";
import {
  type CurlUpload,
  curlUpload,
  makeRandomFile,
  sampleRss,
  UPLOAD_QUEUE_BYTES,
} from "./upload_tools.ts";
import {
  type Measured,
  resultOf,
  summarize,
  type UploadBenchResult,
} from "./upload_result.ts";
import {
  type Peers,
  slowClients,
  throughputRounds,
  warmUp,
  warmUpload,
} from "./upload_phases.ts";
import {
  type TimelineEvent,
  type TracedUpload,
  tracedUpload,
} from "./upload_trace.ts";

export { curlUpload, makeRandomFile, sampleRss, UPLOAD_QUEUE_BYTES };
export type { CurlUpload, TimelineEvent, TracedUpload };
export { toTimeline } from "./upload_trace.ts";

const MiB = 1024 * 1024;
/**
 * The pause before each throughput round: the kernel reports memory that
 * stayed free for 2 s, so 4 s leaves it time to hand back the previous
 * round's pages (bench/PROFILE.md, "Upload rounds under the same pages").
 */
const SETTLE_MS = 4000;
const PIPE_SERVER = new URL("./pipe_server.ts", import.meta.url).pathname;
const FASTAPI_SERVER = new URL("./fastapi_server.py", import.meta.url)
  .pathname;
/** Debian's Python, where apt puts FastAPI (not a pyenv or venv one). */
const PYTHON = "/usr/bin/python3";

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
  /**
   * The pause before every throughput round, after the previous round's
   * file is deleted and the disks synced, so that every server writes into
   * pages that free page reporting has handed back to the host
   * (`throughputRound`). @default {4000}
   */
  settleMs?: number;
}

/** The options with their defaults. */
function settingsOf(options: BenchUploadOptions) {
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
    settleMs = SETTLE_MS,
  } = options;
  if (!Number.isInteger(settleMs) || settleMs < 0) {
    throw new RangeError(`settleMs must be an integer >= 0, got ${settleMs}`);
  }
  return {
    bytes,
    rounds,
    tmpDir,
    fsyncBaseline,
    fastApiPeer,
    concurrent,
    concurrentBytes,
    concurrentRate,
    traceBytes,
    traceSlowBytes,
    traceSlowRate,
    sampleMs,
    settleMs,
  };
}

type Settings = ReturnType<typeof settingsOf>;

/** The files the benchmark uploads, made once in its temporary folder. */
interface SourceFiles {
  big: string;
  small: string;
  trace: string;
  traceSlow: string;
}

/** Makes the source files and the servers' data folders in `tmp`. */
async function makeSources(tmp: string, s: Settings): Promise<SourceFiles> {
  const files = {
    big: join(tmp, "big.bin"),
    small: join(tmp, "small.bin"),
    trace: join(tmp, "trace.bin"),
    traceSlow: join(tmp, "trace-slow.bin"),
  };
  await makeRandomFile(files.big, s.bytes);
  await makeRandomFile(files.small, s.concurrentBytes);
  await makeRandomFile(files.trace, s.traceBytes);
  await makeRandomFile(files.traceSlow, s.traceSlowBytes);
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
  return files;
}

/** The service's command line, storing in `dataDir`. */
function serviceArgs(
  s: Settings,
  dataDir: string,
  extra: string[] = [],
): string[] {
  return serviceCommand([
    "--upstream-url",
    "http://127.0.0.1:9",
    "--data-dir",
    dataDir,
    "--max-upload-bytes",
    String(Math.max(s.bytes, s.concurrentBytes, s.traceBytes) * 2),
    "--upload-queue-bytes",
    String(UPLOAD_QUEUE_BYTES),
    ...extra,
  ]);
}

/**
 * Parts 1 and 2, against the service and its peers, started here and
 * stopped when they are done.
 */
async function measureUploads(
  tmp: string,
  files: SourceFiles,
  s: Settings,
): Promise<Measured> {
  await using service = await startServer(
    serviceArgs(s, join(tmp, "service"), [
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
  await using fastApi = s.fastApiPeer
    ? await startServer([
      PYTHON,
      FASTAPI_SERVER,
      join(tmp, "fastapi"),
      String(freePort()),
    ])
    : undefined;
  const peers: Peers = {
    service: {
      server: service,
      path: "/files",
      dir: join(tmp, "service", "files"),
    },
    baseline: { server: baseline, path: "/", dir: join(tmp, "baseline") },
    baselineFsync: {
      server: baselineFsync,
      path: "/",
      dir: join(tmp, "baseline-fsync"),
    },
    fastApi: fastApi
      ? { server: fastApi, path: "/file", dir: join(tmp, "fastapi") }
      : undefined,
  };
  const serviceIdleRssBytes = await warmUp(peers, files, tmp);
  const runs = await throughputRounds(peers, files.big, tmp, s);
  const concurrent = await slowClients(peers.service, files.small, s);
  return { runs, serviceIdleRssBytes, concurrent };
}

/** Part 3: reader/writer traces of a fast and a rate-limited upload. */
async function traceUploads(
  tmp: string,
  files: SourceFiles,
  s: Settings,
): Promise<UploadBenchResult["timelines"]> {
  await using traced = await startServer(
    serviceArgs(s, join(tmp, "traced"), ["--log-level", "debug"]),
  );
  await warmUpload(files.small, `${traced.url}/files`);
  const fast = await tracedUpload(
    traced,
    files.trace,
    s.traceBytes,
    undefined,
    tmp,
  );
  const slow = await tracedUpload(
    traced,
    files.traceSlow,
    s.traceSlowBytes,
    s.traceSlowRate,
    tmp,
  );
  return { fast, slow };
}

/** Runs the upload benchmark (needs `curl`). */
export async function benchUpload(
  options: BenchUploadOptions = {},
): Promise<UploadBenchResult> {
  const s = settingsOf(options);
  if (!(await hasCommand("curl"))) throw new Error("curl is not installed");

  const tmp = await Deno.makeTempDir({
    prefix: "bench-upload-",
    ...(s.tmpDir === undefined ? {} : { dir: s.tmpDir }),
  });
  try {
    const files = await makeSources(tmp, s);
    const measured = await measureUploads(tmp, files, s);
    const timelines = await traceUploads(tmp, files, s);
    return resultOf(s, tmp, measured, timelines);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
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
      "settle-ms": { type: "string" },
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
  if (values["settle-ms"] !== undefined) {
    options.settleMs = number(values["settle-ms"])!;
  }
  const result = await benchUpload(options);
  if (values.out) {
    await Deno.writeTextFile(values.out, JSON.stringify(result, null, 2));
  }
  // deno-lint-ignore no-console
  console.log(JSON.stringify(summarize(result), null, 2));
}
