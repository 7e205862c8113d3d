/**
 * What a start over many stored files costs the clients: the service is
 * started on a files folder filled by `bench/many_files.ts` while a client
 * asks for the cached `GET /posts/1` back to back (2 ms apart, a refused
 * connection retried), and the figures are the time from the spawn to the
 * first answer (of `/posts/1` and of `/healthz`), to the first `200` of
 * `GET /files?limit=10` (the index built), the slowest `/posts/1` once the
 * service answered and until the index was built, the longest the service's
 * event loop was held meanwhile (a timer's lateness, `bench/loop_lateness.ts`
 * loaded before the checkout's modules), the event loop delay the service
 * reports then (`process_event_loop_delay_seconds`) and its RSS.
 * Run it against two checkouts in turns (bench/PROFILE.md, "Many stored
 * files at start"):
 *
 * ```sh
 * deno run -A bench/start_many_files.ts <checkout> <DATA_DIR> <upstream url>
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { rssOf } from "./lib.ts";
import { type Lateness, parseLateness } from "./loop_lateness.ts";

/** A port free on the loopback now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** What one start of the service came to; times in ms from the spawn. */
export interface StartFigures {
  /** The first answer of `/posts/1`. */
  firstPost: number;
  /** The first answer of `/healthz`. */
  firstHealth: number;
  /** The first 200 of `GET /files?limit=10`. */
  listed: number;
  /**
   * The slowest cached `/posts/1` after the first answer (the cache's miss)
   * until the index was built.
   */
  slowestPost: number;
  /**
   * The service's longest timer lateness (its event loop held) that ended
   * between the first `/healthz` answer and the first listing, ms.
   */
  longestStall: number;
  /** Timer lateness over 50 ms in that time. */
  stallsOver50: number;
  /**
   * The most CPU time the service's main thread used in one of those
   * stalls, ms: the longest the process itself held its loop, where the
   * lateness also counts the waits for a CPU on a loaded machine.
   */
  longestStallCpu: number;
  /** `process_event_loop_delay_seconds` once listed, ms. */
  loopDelay: number;
  /** The RSS once listed, MB. */
  rssMb: number;
}

const V8_FLAGS =
  "--v8-flags=--max-semi-space-size=8,--heap-growing-percent=30," +
  "--max-inlined-bytecode-size-cumulative=4000";

/** Sends `path`; resolves its status and ms, or `undefined` if refused. */
async function ask(
  url: string,
): Promise<{ status: number; ms: number } | undefined> {
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    await res.body?.cancel();
    return { status: res.status, ms: performance.now() - started };
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `url` until it answers `status` (any status when absent). */
async function firstAnswer(
  url: string,
  t0: number,
  status?: number,
): Promise<number> {
  for (;;) {
    const answer = await ask(url);
    if (answer && (status === undefined || answer.status === status)) {
      return performance.now() - t0;
    }
    await sleep(20);
  }
}

/** The lateness in `file` of the timer ticks that fired from `from` to `to`. */
async function stallsBetween(
  file: string,
  from: number,
  to: number,
): Promise<Lateness[]> {
  return parseLateness(await Deno.readTextFile(file))
    .filter(({ at }) => at >= from && at <= to);
}

/** Spawns `checkout`'s main.ts with `env`, the event loop watched (loop_lateness.ts). */
function spawnMain(
  checkout: string,
  env: Record<string, string>,
): Deno.ChildProcess {
  const preload = fileURLToPath(new URL("./loop_lateness.ts", import.meta.url));
  return new Deno.Command("deno", {
    args: [
      "run",
      "-A",
      "--unstable-net",
      V8_FLAGS,
      `--preload=${preload}`,
      "main.ts",
    ],
    cwd: checkout,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Starts `checkout`'s main.ts on `dataDir` once and measures it. */
export async function measureStart(
  checkout: string,
  dataDir: string,
  upstream: string,
): Promise<StartFigures> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const latenessFile = await Deno.makeTempFile({ suffix: ".jsonl" });
  const t0 = performance.now();
  const child = spawnMain(checkout, {
    PORT: String(port),
    DATA_DIR: dataDir,
    UPSTREAM_URL: upstream,
    LOOP_LATENESS_FILE: latenessFile,
  });
  try {
    const health = firstAnswer(`${base}/healthz`, t0);
    let slowestPost = 0;
    let firstPost: number | undefined;
    let listedAt: number | undefined;
    const listed = firstAnswer(`${base}/files?limit=10`, t0, 200).then(
      (ms) => listedAt = ms,
    );
    while (listedAt === undefined) {
      const answer = await ask(`${base}/posts/1`);
      if (answer && firstPost === undefined) {
        // The first one is the cache's miss: the upstream's time, not ours.
        firstPost = performance.now() - t0;
      } else if (answer) slowestPost = Math.max(slowestPost, answer.ms);
      await sleep(2);
    }
    await listed;
    const stalls = await stallsBetween(
      latenessFile,
      performance.timeOrigin + t0 + await health,
      performance.timeOrigin + t0 + listedAt,
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const delay = /^process_event_loop_delay_seconds (\S+)$/m.exec(metrics);
    return {
      firstPost: firstPost ?? listedAt,
      firstHealth: await health,
      listed: listedAt,
      slowestPost,
      longestStall: Math.max(0, ...stalls.map(({ lateMs }) => lateMs)),
      stallsOver50: stalls.filter(({ lateMs }) => lateMs > 50).length,
      longestStallCpu: Math.max(0, ...stalls.map(({ cpuMs }) => cpuMs)),
      loopDelay: Number(delay?.[1] ?? NaN) * 1000,
      rssMb: (await rssOf(child.pid)) / 2 ** 20,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(latenessFile);
  }
}

if (import.meta.main) {
  const [checkout, dataDir, upstream] = Deno.args;
  if (!checkout || !dataDir || !upstream) {
    throw new TypeError(
      "usage: start_many_files.ts <checkout> <DATA_DIR> <upstream url>",
    );
  }
  const figures = await measureStart(checkout, dataDir, upstream);
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  // deno-lint-ignore no-console
  console.log(JSON.stringify({ checkout, dataDir, load, ...figures }));
}
