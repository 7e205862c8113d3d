/**
 * Benchmark: cached `GET /posts/1` of the service against its peers (issue
 * 11), all started at once and measured interleaved in one run with `wrk`
 * (`-t1 -c64`); each peer's figure is the median of its rounds.
 *
 * - `minimal`: `bench/minimal_server.ts`, a `Deno.serve` returning the body
 *   with one header (the runtime's ceiling);
 * - `equivalent`: `bench/equivalent_server.ts`, a `Deno.serve` sending the
 *   service's status, body and headers and writing its log line, taken from
 *   the service's own answer and log in this run;
 * - `guarded`: the same handler under the service's connection layer
 *   (`serveGuarded`: its accept loop, connection cap and timeouts), so the
 *   report can tell what that layer costs from what the service's own
 *   per-request work costs;
 * - `values`, `all-headers`, `second-header`: the rungs between `minimal`
 *   and `equivalent` (`bench/ladder_server.ts`), each one step, so the
 *   report shows where the distance between the two goes;
 * - `nginx1`, `nginx2`: Debian nginx with `proxy_cache` in front of the same
 *   upstream, 1 and 2 worker processes, access log on (buffered);
 * - `service`: `main.ts` with the flags of `deno task start` (permissions, V8 flags);
 * - `parallel`: `serve.ts` under `deno serve --parallel`, 2 workers.
 *
 * The upstream is the real JSONPlaceholder (npm `jsonplaceholder` under
 * Node) on loopback. Run alone with `deno run -A bench/cached_get.ts`, or
 * through `deno task bench`.
 *
 * @module
 */

import { join } from "node:path";
import { startJsonPlaceholder } from "../tests/fixtures/jsonplaceholder.ts";
import { startCachingProxy } from "../tests/fixtures/nginx.ts";
import { freePort } from "../tests/fixtures/free_port.ts";
import type { EquivalentSpec } from "./equivalent_server.ts";
import type { LadderRung } from "./ladder_server.ts";
import {
  type BenchServer,
  checkWrk,
  cpuSecondsOf,
  MAIN,
  median,
  ROOT,
  startServer,
  startTaskFlags,
  wrk,
  type WrkResult,
} from "./lib.ts";

/** The peers, in the order of the report. */
export const PEERS = [
  "service",
  "parallel",
  "guarded",
  "equivalent",
  "values",
  "all-headers",
  "second-header",
  "nginx1",
  "nginx2",
  "minimal",
] as const;
/** One peer of the benchmark. */
export type Peer = typeof PEERS[number];

/** How each peer is named in the report. */
export const PEER_LABELS: Record<Peer, string> = {
  service: "async-api, `deno task start`",
  parallel: "async-api, `deno serve --parallel` (2 workers)",
  guarded:
    "the feature-equivalent handler under the service's connection layer (`serveGuarded`)",
  equivalent: "feature-equivalent `Deno.serve` (bench/equivalent_server.ts)",
  values: "the same without the log line (bench/ladder_server.ts)",
  "all-headers": "the service's headers, constant values, no log",
  "second-header": "minimal + a constant `ETag`",
  nginx1: "nginx `proxy_cache`, 1 worker",
  nginx2: "nginx `proxy_cache`, 2 workers",
  minimal: "minimal `Deno.serve`, constant body",
};

/** One round of one peer: wrk's figures and the server's CPU time. */
export interface PeerRun extends WrkResult {
  /**
   * CPU time (user + system, every thread and child process: nginx's
   * workers) the server used during the run, in µs per request served.
   */
  cpuUsPerRequest: number;
}

/** The medians of one peer's rounds, and the rounds. */
export interface PeerFigures {
  requestsPerSecond: number;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  /** Median CPU µs per request; undefined in results from before it. */
  cpuUsPerRequest: number | undefined;
  runs: PeerRun[];
}

/**
 * `subject`'s requests per CPU second as a multiple of `baseline`'s (the
 * baseline's CPU time per request over the subject's), or `undefined`
 * when either was not measured.
 */
export function perCpuSecond(
  cached: CachedGetResult,
  subject: Peer,
  baseline: Peer,
): number | undefined {
  const mine = cached.peers[subject].cpuUsPerRequest;
  const theirs = cached.peers[baseline].cpuUsPerRequest;
  return mine === undefined || theirs === undefined ? undefined : theirs / mine;
}

/** Figures of the cached-GET benchmark. */
export interface CachedGetResult {
  peers: Record<Peer, PeerFigures>;
  connections: number;
  seconds: number;
  rounds: number;
  /** The nginx version that ran (`nginx -v`). */
  nginx: string;
  /** The service's response header names the equivalent peer copied. */
  headerNames: string[];
  /** The fields of the service's log line the equivalent peer writes. */
  logFields: string[];
}

/** Options of {@linkcode benchCachedGet}. */
export interface BenchCachedGetOptions {
  /** wrk connections. @default {64} */
  connections?: number;
  /** Seconds of each measured wrk run. @default {3} */
  seconds?: number;
  /** Rounds over all peers; the median counts. @default {3} */
  rounds?: number;
}

const SERVE = join(ROOT, "serve.ts");
const MINIMAL = new URL("./minimal_server.ts", import.meta.url).pathname;
const EQUIVALENT = new URL("./equivalent_server.ts", import.meta.url).pathname;
const LADDER = new URL("./ladder_server.ts", import.meta.url).pathname;
const PATH = "/posts/1";

function figures(runs: PeerRun[]): PeerFigures {
  const of = (pick: (r: PeerRun) => number | undefined) => {
    const values = runs.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  return {
    requestsPerSecond: of((r) => r.requestsPerSecond)!,
    latencyP50Ms: of((r) => r.latencyP50Ms),
    latencyP99Ms: of((r) => r.latencyP99Ms),
    cpuUsPerRequest: of((r) => r.cpuUsPerRequest),
    runs,
  };
}

/**
 * What the equivalent peer must send and log: the service's cached answer
 * (its second `GET`, a hit) and the log line of that request.
 */
async function specFromService(
  url: string,
  logFile: string,
): Promise<EquivalentSpec> {
  // As wrk asks: no Accept-Encoding (fetch would ask for gzip and br).
  const init = { headers: { "accept-encoding": "identity" } };
  await (await fetch(`${url}${PATH}`, init)).body?.cancel();
  const res = await fetch(`${url}${PATH}`, init);
  const body = await res.text();
  const requestId = res.headers.get("x-request-id");
  const headers = [...res.headers].filter(([name]) =>
    name !== "date" && name !== "content-length"
  );
  for (let i = 0; i < 100; i++) {
    const line = (await Deno.readTextFile(logFile)).split("\n")
      .find((l) => requestId !== null && l.includes(requestId));
    if (line) {
      return {
        path: PATH,
        status: res.status,
        body,
        headers,
        log: JSON.parse(line),
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the service did not log its cached GET");
}

async function nginxVersion(): Promise<string> {
  const binary = "/usr/sbin/nginx";
  const { stderr } = await new Deno.Command(binary, { args: ["-v"] }).output();
  return new TextDecoder().decode(stderr).trim().replace(
    /^nginx version: /,
    "",
  );
}

/** Fails unless `url` answers 200 with `body` (nginx: the second time a HIT). */
async function checkPeer(peer: string, url: string, body: string) {
  for (let i = 0; i < 2; i++) {
    const res = await fetch(url, {
      headers: { "accept-encoding": "identity" },
    });
    const text = await res.text();
    if (res.status !== 200 || text !== body) {
      throw new Error(`${peer} answered ${res.status} with another body`);
    }
  }
}

/**
 * Starts the hand-written peers at once (each start is mostly waiting for
 * a `deno run` to come up): the equivalent, the ladder's rungs, minimal.
 * Each one started goes on `stack`, which stops it, even when another fails.
 */
async function startHandlers(
  stack: AsyncDisposableStack,
  specFile: string,
  post: string,
): Promise<Record<HandlerPeer, BenchServer>> {
  const scripts: Record<HandlerPeer, string[]> = {
    equivalent: [EQUIVALENT, specFile],
    guarded: [EQUIVALENT, specFile, "--guarded"],
    values: [LADDER, specFile, "values"],
    "all-headers": [LADDER, specFile, "all-headers"],
    "second-header": [LADDER, specFile, "second-header"],
    minimal: [MINIMAL, post],
  };
  const peers = Object.keys(scripts) as HandlerPeer[];
  const started = await Promise.allSettled(
    peers.map(async (peer) =>
      stack.use(
        await startServer([Deno.execPath(), "run", "-A", ...scripts[peer]]),
      )
    ),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return Object.fromEntries(peers.map((peer, i) => [
    peer,
    (started[i] as PromiseFulfilledResult<BenchServer>).value,
  ])) as Record<HandlerPeer, BenchServer>;
}

/** The peers that are hand-written `Deno.serve` handlers. */
type HandlerPeer = "equivalent" | "guarded" | LadderRung | "minimal";

/** A peer's server as the rounds need it. */
interface Running {
  url: string;
  pid: number;
}

/** Each round measures every peer, in rotating order. */
async function measureRounds(
  servers: Record<Peer, Running>,
  options: { connections: number; seconds: number; rounds: number },
): Promise<Record<Peer, PeerRun[]>> {
  const { connections, seconds, rounds } = options;
  const runs = Object.fromEntries(PEERS.map((p) => [p, [] as PeerRun[]]));
  for (let round = 0; round < rounds; round++) {
    const order = PEERS.map((_, i) => PEERS[(i + round) % PEERS.length]!);
    for (const peer of order) {
      const { url, pid } = servers[peer];
      const cpuBefore = await cpuSecondsOf(pid);
      const run = await wrk(`${url}${PATH}`, { connections, seconds });
      const cpu = await cpuSecondsOf(pid) - cpuBefore;
      checkWrk(run, peer);
      runs[peer]!.push({ ...run, cpuUsPerRequest: cpu * 1e6 / run.requests });
    }
  }
  return runs as Record<Peer, PeerRun[]>;
}

/** Runs the benchmark; each round measures every peer, in rotating order. */
export async function benchCachedGet(
  options: BenchCachedGetOptions = {},
): Promise<CachedGetResult> {
  const { connections = 64, seconds = 3, rounds = 3 } = options;
  const tmp = await Deno.makeTempDir({ prefix: "bench-cached-" });
  await Deno.chmod(tmp, 0o777);
  try {
    await using upstream = await startJsonPlaceholder();
    const upstreamPort = Number(new URL(upstream.url).port);
    const post = await (await fetch(`${upstream.url}${PATH}`)).text();
    const flags = startTaskFlags();
    const settings = [
      "--upstream-url",
      upstream.url,
      "--cache-ttl-seconds",
      "3600",
    ];

    await using service = await startServer(
      [
        Deno.execPath(),
        "run",
        "--no-prompt",
        ...flags,
        MAIN,
        "--port",
        "0",
        ...settings,
      ],
      { cwd: ROOT },
    );
    const parallelPort = freePort();
    await using parallel = await startServer(
      [
        Deno.execPath(),
        "serve",
        "--parallel",
        "--host",
        "127.0.0.1",
        "--port",
        String(parallelPort),
        ...flags,
        SERVE,
      ],
      {
        cwd: ROOT,
        env: {
          DENO_JOBS: "2",
          UPSTREAM_URL: upstream.url,
          CACHE_TTL_SECONDS: "3600",
        },
      },
    );
    const spec = await specFromService(service.url, service.logFile);
    const specFile = join(tmp, "equivalent.json");
    await Deno.writeTextFile(specFile, JSON.stringify(spec));
    await using handlers = new AsyncDisposableStack();
    const started = await startHandlers(handlers, specFile, post);
    await using nginx1 = await startCachingProxy({
      upstream: upstreamPort,
      workers: 1,
      accessLog: join(tmp, "nginx1-access.log"),
    });
    await using nginx2 = await startCachingProxy({
      upstream: upstreamPort,
      workers: 2,
      accessLog: join(tmp, "nginx2-access.log"),
    });
    const servers: Record<Peer, Running> = {
      service,
      parallel,
      nginx1,
      nginx2,
      ...started,
    };
    for (const peer of PEERS) {
      await checkPeer(peer, `${servers[peer].url}${PATH}`, post);
      // Warm-up: JIT, and every worker's cache.
      await wrk(`${servers[peer].url}${PATH}`, { connections, seconds: 1 });
    }
    const runs = await measureRounds(servers, { connections, seconds, rounds });
    return {
      peers: Object.fromEntries(
        PEERS.map((p) => [p, figures(runs[p]!)]),
      ) as Record<Peer, PeerFigures>,
      connections,
      seconds,
      rounds,
      nginx: await nginxVersion(),
      headerNames: spec.headers.map(([name]) => name),
      logFields: Object.keys(spec.log),
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  const result = await benchCachedGet({ seconds: 2, rounds: 1 });
  // deno-lint-ignore no-console
  console.log(JSON.stringify(result, null, 2));
}
