/**
 * Starting the cached-GET benchmark's peers (`bench/cached_get.ts`): the
 * service (several processes) and `--parallel`, the feature-equivalent
 * handler derived from the service's own answer and log line, the guarded
 * one (several processes each), the ladder's rungs, minimal, nginx with 1
 * and 2 workers; then each process checked and warmed up.
 *
 * @module
 */

import { join } from "node:path";
import { startCachingProxy } from "../tests/fixtures/nginx.ts";
import { freePort } from "../tests/fixtures/free_port.ts";
import type { Peer } from "./cached_get.ts";
import { MULTI_PEERS, type Running } from "./cached_rounds.ts";
import type { EquivalentSpec } from "./equivalent_server.ts";
import type { LadderRung } from "./ladder_server.ts";
import {
  type BenchServer,
  MAIN,
  ROOT,
  startServer,
  startTaskFlags,
  wrk,
} from "./lib.ts";

/** The path every peer is measured on. */
export const CACHED_PATH = "/posts/1";
const SERVE = join(ROOT, "serve.ts");
const MINIMAL = new URL("./minimal_server.ts", import.meta.url).pathname;
const EQUIVALENT = new URL("./equivalent_server.ts", import.meta.url).pathname;
const LADDER = new URL("./ladder_server.ts", import.meta.url).pathname;

/**
 * What the equivalent peer must send and log: the service's cached answer
 * (its second `GET`, a hit) and the log line of that request. The answer
 * is read off the wire ({@linkcode wireAnswer}), so the spec keeps the
 * service's header order: `fetch`'s `Headers` sorts the names, and the
 * peer then sent the same fields in another order than the service
 * (bench/PROFILE.md, seventeenth round).
 */
export async function specFromService(
  url: string,
  logFile: string,
): Promise<EquivalentSpec> {
  await wireAnswer(`${url}${CACHED_PATH}`);
  const { status, headers: head, body } = await wireAnswer(
    `${url}${CACHED_PATH}`,
  );
  const requestId = head.find(([name]) => name === "x-request-id")?.[1];
  const headers = head.filter(([name]) =>
    name !== "date" && name !== "content-length"
  );
  for (let i = 0; i < 100; i++) {
    const line = (await Deno.readTextFile(logFile)).split("\n")
      .find((l) => requestId !== undefined && l.includes(requestId));
    if (line) {
      return {
        path: CACHED_PATH,
        status,
        body,
        headers,
        log: JSON.parse(line),
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the service did not log its cached GET");
}

/** An answer as it came on the wire: header fields in their order. */
export interface WireAnswer {
  status: number;
  /** Names in lower case, in the order sent. */
  headers: [string, string][];
  body: string;
}

/**
 * `GET url` as wrk asks it (the request line and `Host`, nothing else:
 * no `Accept-Encoding`), on a connection of its own, and the answer's
 * status, header fields in the order sent, and body (by its
 * `Content-Length`).
 */
export async function wireAnswer(url: string): Promise<WireAnswer> {
  const { hostname, port, host, pathname } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const ask = `GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(ask));
    const buffer = new Uint8Array(64 * 1024);
    let received = new Uint8Array(0);
    for (;;) {
      // The head is ASCII: its bytes and a latin1 string's indices agree.
      const text = String.fromCharCode(...received);
      const end = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      const size = end + 4 + Number(length?.[1]);
      if (end >= 0 && received.byteLength >= size) {
        const [statusLine = "", ...fields] = text.slice(0, end).split("\r\n");
        return {
          status: Number(statusLine.split(" ")[1]),
          headers: fields.map((field) => {
            const colon = field.indexOf(":");
            return [
              field.slice(0, colon).toLowerCase(),
              field.slice(colon + 1).trim(),
            ];
          }),
          body: new TextDecoder().decode(received.subarray(end + 4, size)),
        };
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`${url}: closed before an answer`);
      const next = new Uint8Array(received.byteLength + n);
      next.set(received);
      next.set(buffer.subarray(0, n), received.byteLength);
      received = next;
    }
  } finally {
    conn.close();
  }
}

export async function nginxVersion(): Promise<string> {
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

/** Starts `count` processes of `command` at once, each put on `stack`. */
async function startMany(
  stack: AsyncDisposableStack,
  count: number,
  command: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<BenchServer[]> {
  // Settle every start before failing, so each one started is on `stack`.
  const started = await Promise.allSettled(
    Array.from(
      { length: count },
      async () => stack.use(await startServer(command, options)),
    ),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return started.map((s) => (s as PromiseFulfilledResult<BenchServer>).value);
}

/**
 * Starts the hand-written peers at once (each start is mostly waiting for
 * a `deno run` to come up): the equivalent and the guarded one (`count`
 * processes each), the ladder's rungs, minimal. Each one started goes on
 * `stack`, which stops it, even when another fails.
 */
async function startHandlers(
  stack: AsyncDisposableStack,
  specFile: string,
  post: string,
  count: number,
): Promise<Record<HandlerPeer, BenchServer[]>> {
  const scripts: Record<HandlerPeer, string[]> = {
    equivalent: [EQUIVALENT, specFile],
    guarded: [EQUIVALENT, specFile, "--guarded"],
    values: [LADDER, specFile, "values"],
    "all-headers": [LADDER, specFile, "all-headers"],
    "second-header": [LADDER, specFile, "second-header"],
    minimal: [MINIMAL, post],
  };
  // The service's V8 flags (the start task's `--v8-flags`) for every
  // hand-written peer too: a ratio against a peer with other heap settings
  // would weigh the flags along with the work.
  const v8 = startTaskFlags().filter((flag) => flag.startsWith("--v8-flags"));
  const peers = Object.keys(scripts) as HandlerPeer[];
  const started = await Promise.allSettled(
    peers.map((peer) =>
      startMany(
        stack,
        MULTI_PEERS.includes(peer) ? count : 1,
        [Deno.execPath(), "run", "-A", ...v8, ...scripts[peer]],
      )
    ),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return Object.fromEntries(peers.map((peer, i) => [
    peer,
    (started[i] as PromiseFulfilledResult<BenchServer[]>).value,
  ])) as Record<HandlerPeer, BenchServer[]>;
}

/** The peers that are hand-written `Deno.serve` handlers. */
type HandlerPeer = "equivalent" | "guarded" | LadderRung | "minimal";

/** The async-api peers: `count` processes of the service, one --parallel. */
async function startServices(
  stack: AsyncDisposableStack,
  upstream: string,
  count: number,
): Promise<{ service: BenchServer[]; parallel: BenchServer[] }> {
  const flags = startTaskFlags();
  const settings = ["--upstream-url", upstream, "--cache-ttl-seconds", "3600"];
  const parallelPort = freePort();
  const [service, parallel] = await Promise.all([
    startMany(stack, count, [
      Deno.execPath(),
      "run",
      "--no-prompt",
      ...flags,
      MAIN,
      "--port",
      "0",
      ...settings,
    ], { cwd: ROOT }),
    startMany(stack, 1, [
      Deno.execPath(),
      "serve",
      "--parallel",
      "--host",
      "127.0.0.1",
      "--port",
      String(parallelPort),
      ...flags,
      SERVE,
    ], {
      cwd: ROOT,
      env: {
        DENO_JOBS: "2",
        UPSTREAM_URL: upstream,
        CACHE_TTL_SECONDS: "3600",
      },
    }),
  ]);
  return { service, parallel };
}

/**
 * Starts every peer (several processes of {@linkcode MULTI_PEERS}), each
 * put on `stack`; the equivalent's spec comes from the first service.
 */
export async function startPeers(
  stack: AsyncDisposableStack,
  options: { upstream: string; post: string; tmp: string; count: number },
): Promise<{ servers: Record<Peer, Running[]>; spec: EquivalentSpec }> {
  const { upstream, post, tmp, count } = options;
  const services = await startServices(stack, upstream, count);
  const first = services.service[0]!;
  const spec = await specFromService(first.url, first.logFile);
  const specFile = join(tmp, "equivalent.json");
  await Deno.writeTextFile(specFile, JSON.stringify(spec));
  const handlers = await startHandlers(stack, specFile, post, count);
  const nginx = async (workers: number) => [
    stack.use(
      await startCachingProxy({
        upstream: Number(new URL(upstream).port),
        workers,
        accessLog: join(tmp, `nginx${workers}-access.log`),
      }),
    ),
  ];
  const servers: Record<Peer, Running[]> = {
    ...services,
    ...handlers,
    nginx1: await nginx(1),
    nginx2: await nginx(2),
  };
  return { servers, spec };
}

/** Checks each process's answer, then warms it up (JIT, every worker's cache). */
export async function warmUp(
  servers: Record<Peer, Running[]>,
  connections: number,
  body: string,
): Promise<void> {
  for (const [peer, processes] of Object.entries(servers)) {
    for (const { url } of processes) {
      await checkPeer(peer, `${url}${CACHED_PATH}`, body);
      await wrk(`${url}${CACHED_PATH}`, { connections, seconds: 1 });
    }
  }
}
