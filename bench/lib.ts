/**
 * Helpers shared by the benchmarks: start a server process whose output goes
 * to a file (so the benchmark does not spend CPU draining a pipe), wait for
 * its `listening` line, read its resident memory and CPU time, and drive
 * `wrk`.
 *
 * @module
 */

/** A server process started by {@linkcode startServer}. */
export interface BenchServer extends AsyncDisposable {
  url: string;
  pid: number;
  logFile: string;
}

/**
 * Runs `command` (argv) with stdout and stderr sent to a temporary file and
 * resolves once a JSON line with `msg: "listening"` shows up in it.
 */
export async function startServer(
  command: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } =
    {},
): Promise<BenchServer> {
  const { env = {}, timeoutMs = 20_000, cwd } = options;
  const logFile = await Deno.makeTempFile({ prefix: "bench-", suffix: ".log" });
  const quoted = command.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`)
    .join(" ");
  const child = new Deno.Command("sh", {
    args: ["-c", `exec ${quoted} >'${logFile}' 2>&1`],
    env,
    ...(cwd === undefined ? {} : { cwd }),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(logFile);
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      const record = JSON.parse(line);
      if (record.msg === "listening" && typeof record.url === "string") {
        return {
          url: record.url,
          pid: child.pid,
          logFile,
          async [Symbol.asyncDispose]() {
            try {
              child.kill("SIGTERM");
            } catch { /* already gone */ }
            await child.status;
            await Deno.remove(logFile).catch(() => {});
          },
        };
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(
    `${command.join(" ")} did not start:\n${await Deno.readTextFile(logFile)}`,
  );
}

/** Resident set size of process `pid` in bytes, from /proc. */
export async function rssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK` on Linux). */
const CLOCK_TICKS = 100;

/**
 * The name and the CPU time (user + system) in milliseconds of a line of
 * `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`.
 */
export function parseStat(stat: string): { name: string; ms: number } {
  // The name is in parentheses and may hold spaces: utime and stime are
  // the 14th and 15th fields of the line.
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  return {
    name: stat.slice(stat.indexOf("(") + 1, close),
    ms: (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS,
  };
}

/**
 * CPU time (user + system, all threads) in seconds that process `pid` and
 * its child processes (nginx's workers) have used so far, from /proc.
 */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const own = parseStat(stat).ms / 1000;
  const tasks = await Array.fromAsync(Deno.readDir(`/proc/${pid}/task`));
  const children = (await Promise.all(
    tasks.map((task) =>
      Deno.readTextFile(`/proc/${pid}/task/${task.name}/children`)
        .catch(() => "")
    ),
  )).join(" ").split(/\s+/).filter(Boolean).map(Number);
  const theirs = await Promise.all(
    children.map((child) => cpuSecondsOf(child).catch(() => 0)),
  );
  return theirs.reduce((sum, s) => sum + s, own);
}

/** The result of one `wrk` run. */
export interface WrkResult {
  requestsPerSecond: number;
  /** Requests completed in the run. */
  requests: number;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  non2xx: number;
  errors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/** Runs `wrk` against `url` and parses its summary. */
export async function wrk(
  url: string,
  options: {
    connections?: number;
    threads?: number;
    seconds?: number;
    /** A Lua script (`wrk -s`), e.g. to vary the path. */
    script?: string;
  } = {},
): Promise<WrkResult> {
  const { connections = 64, threads = 1, seconds = 10, script } = options;
  const { stdout, stderr, success } = await new Deno.Command("wrk", {
    args: [
      `-t${threads}`,
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      ...(script === undefined ? [] : ["-s", script]),
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) {
    throw new Error(`wrk failed: ${new TextDecoder().decode(stderr)}`);
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(text);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(text);
  const non2xx = Number(
    /Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0,
  );
  const errorsMatch =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(text);
  const errors = errorsMatch
    ? errorsMatch.slice(1).reduce((sum, n) => sum + Number(n), 0)
    : 0;
  if (!Number.isFinite(rps)) {
    throw new Error(`cannot parse wrk output:\n${text}`);
  }
  return {
    requestsPerSecond: rps,
    requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN),
    latencyP50Ms: p50 ? toMs(p50[1]!, p50[2]!) : undefined,
    latencyP99Ms: p99 ? toMs(p99[1]!, p99[2]!) : undefined,
    non2xx,
    errors,
  };
}

/** Whether a wrk run lost more than 1 % of its requests to socket errors. */
export function lostRequests(run: WrkResult): boolean {
  return run.errors > run.requests / 100;
}

/**
 * Throws when a wrk run got wrong answers (non-2xx/3xx) or lost more than
 * 1 % of its requests to socket errors. A few timeouts (wrk gives up after
 * 2 s) happen when the shared machine stalls; they stay in the run's
 * figures (`errors`) instead of failing the step.
 */
export function checkWrk(run: WrkResult, who: string): void {
  if (run.non2xx > 0 || lostRequests(run)) {
    throw new Error(`wrk saw failures from ${who}: ${JSON.stringify(run)}`);
  }
}

/** Whether `name` runs as a command here. */
export async function hasCommand(name: string): Promise<boolean> {
  try {
    await new Deno.Command(name, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch {
    return false;
  }
}

/** The repository root (where deno.json is). */
export const ROOT = new URL("..", import.meta.url).pathname;

/** The service's entry point. */
export const MAIN = `${ROOT}main.ts`;

/**
 * The argv that runs the service with every permission and the start
 * task's V8 flags (see {@linkcode startTaskFlags}) on a free port, then
 * `settings` (flags of main.ts).
 */
export function serviceCommand(settings: string[]): string[] {
  const v8 = startTaskFlags().filter((flag) => flag.startsWith("--v8-flags"));
  return [
    Deno.execPath(),
    "run",
    "-A",
    ...v8,
    MAIN,
    "--port",
    "0",
    ...settings,
  ];
}

/**
 * The flags of the `start` task in deno.json (what `deno task start`
 * runs): its permissions and its V8 flags, so the benchmarks run the
 * service as users do. The task is one `deno run` line without quoting;
 * the flags are the words that start with `--`.
 */
export function startTaskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const task = config.tasks.start;
  const command: string = typeof task === "string" ? task : task.command;
  return command.split(/\s+/).filter((word) => word.startsWith("--"));
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
