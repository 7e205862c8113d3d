/**
 * The HTTP server of `main.ts`: `Deno.serve`'s request handling, under an
 * accept loop of our own that protects the process from connection floods.
 *
 * - **Connection cap**: past `maxConnections` open connections, a new one
 *   gets a canned `503` and is closed, so one client cannot take every file
 *   descriptor.
 * - **Out of file descriptors** (`EMFILE`/`ENFILE`): `accept()` failing
 *   ends `Deno.serve` (an unhandled rejection, exit 1); here the loop backs
 *   off (50 ms, doubling up to 1 s) and accepts again once descriptors free
 *   up.
 * - **Header timeout**: a connection that has not sent a complete request
 *   head within `headerTimeoutMs` of being accepted is closed (as nginx's
 *   `client_header_timeout`): idle and half-sent connections do not pile up.
 * - **Keep-alive timeout**: a connection idle between requests for
 *   `keepAliveTimeoutMs` is closed.
 * - **Connection: close is kept**: an answer saying it (an upload refused
 *   or stopped while its body still arrives) closes the connection 2 s
 *   later, the runtime alone keeping it open until the body ends.
 *
 * A connection with a request in flight is never closed by these timers:
 * a slow upload body has its own idle timeout (`UPLOAD_IDLE_TIMEOUT_MS`).
 * One sweep timer checks every connection, rather than one timer each.
 *
 * When the runtime lacks the per-connection server this needs (see
 * `serve_connection.ts`), it logs a warning and serves with plain
 * `Deno.serve`, without these protections.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import {
  connectionServer,
  type ServeConnection,
  type ServedConnection,
} from "./serve_connection.ts";

/** Counters of the server's connections, read by the metrics. */
export class ConnectionStats {
  /** Connections open now. */
  open = 0;
  /** Closed for not sending a request head within the header timeout. */
  headerTimeouts = 0;
  /** Closed for idling between requests past the keep-alive timeout. */
  idleTimeouts = 0;
  /** Turned away with 503 over the connection cap. */
  rejected = 0;
  /** Times `accept()` failed (out of file descriptors) and the loop waited. */
  acceptBackoffs = 0;
}

/** Options of {@linkcode serveGuarded}. */
export interface GuardedServerOptions {
  /** Listen address. */
  hostname: string;
  /** Listen port; 0 picks a free one. */
  port: number;
  /** Answers one request. */
  handler: Deno.ServeHandler<Deno.NetAddr>;
  /** Answers when `handler` throws. @default {a plain 500} */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** Called once listening, with the bound address. */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Where warnings go (fallback, descriptors exhausted). */
  logger: Logger;
  /** Most connections open at once. @default {10000} */
  maxConnections?: number;
  /** Time to send a complete request head, ms. @default {30000} */
  headerTimeoutMs?: number;
  /** Time a connection may idle between requests, ms. @default {75000} */
  keepAliveTimeoutMs?: number;
  /** Counters to update. @default {new ConnectionStats()} */
  stats?: ConnectionStats;
}

/** A running {@linkcode serveGuarded} server. */
export interface GuardedServer extends AsyncDisposable {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** The counters. */
  readonly stats: ConnectionStats;
  /** Settles once the server has shut down. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, closes idle connections, and resolves once the
   * requests in flight are answered and every connection is closed.
   */
  shutdown(): Promise<void>;
}

interface Tracked {
  readonly abort: AbortController;
  served?: ServedConnection;
  /** Requests in flight. */
  active: number;
  /** Requests started on it so far. */
  requests: number;
  /** When it was accepted or last became idle (performance.now()). */
  since: number;
}

// How long a connection answered with Connection: close may stay open for
// the client to read the answer; see lingerThenClose.
const LINGER_MS = 2_000;

const encoder = new TextEncoder();
const OVER_CAP_BODY = JSON.stringify({
  type: "about:blank",
  title: "Service Unavailable",
  status: 503,
  detail: "Too many open connections; retry shortly",
});
const OVER_CAP = encoder.encode(
  "HTTP/1.1 503 Service Unavailable\r\n" +
    "content-type: application/problem+json\r\n" +
    "retry-after: 1\r\nconnection: close\r\n" +
    `content-length: ${encoder.encode(OVER_CAP_BODY).byteLength}\r\n\r\n` +
    OVER_CAP_BODY,
);

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive whole number: ${value}`);
  }
  return value;
}

/** Whether `accept()` failed for want of file descriptors. */
function outOfDescriptors(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === "EMFILE" || code === "ENFILE" ||
    /os error 2[34]\b|too many open files/i.test(String(message));
}

function defaultOnError(): Response {
  return new Response("Internal Server Error", { status: 500 });
}

/**
 * Listens on `hostname:port` (throwing at once as `Deno.listen` does, e.g.
 * `AddrInUse`) and serves `handler` with the protections of this module.
 */
export function serveGuarded(options: GuardedServerOptions): GuardedServer {
  const serveConnection = connectionServer();
  if (serveConnection === undefined) {
    options.logger.warn("server.fallback", {
      detail:
        "this Deno has no per-connection server; serving with Deno.serve, without connection cap or header/keep-alive timeouts",
      deno: Deno.version.deno,
    });
    return fallback(options);
  }
  return guarded(options, serveConnection);
}

function guarded(
  options: GuardedServerOptions,
  serveConnection: ServeConnection,
): GuardedServer {
  const {
    hostname,
    port,
    handler,
    onError = defaultOnError,
    onListen,
    logger,
    stats = new ConnectionStats(),
  } = options;
  const maxConnections = positive(
    "maxConnections",
    options.maxConnections ?? 10_000,
  );
  const headerTimeoutMs = positive(
    "headerTimeoutMs",
    options.headerTimeoutMs ?? 30_000,
  );
  const keepAliveTimeoutMs = positive(
    "keepAliveTimeoutMs",
    options.keepAliveTimeoutMs ?? 75_000,
  );
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  const connections = new Set<Tracked>();
  const closed = new Set<Promise<void>>();
  const stopping = new AbortController();

  const sweep = () => {
    const now = performance.now();
    for (const conn of connections) {
      if (conn.active > 0) continue;
      const first = conn.requests === 0;
      if (now - conn.since < (first ? headerTimeoutMs : keepAliveTimeoutMs)) {
        continue;
      }
      connections.delete(conn);
      if (first) stats.headerTimeouts++;
      else stats.idleTimeouts++;
      conn.abort.abort();
    }
  };
  // A quarter of the shorter timeout (10 ms to 1 s): a connection is
  // closed at most that late.
  const sweepMs = Math.min(
    1000,
    Math.max(10, Math.floor(Math.min(headerTimeoutMs, keepAliveTimeoutMs) / 4)),
  );
  const sweeper = setInterval(sweep, sweepMs);
  Deno.unrefTimer(sweeper);

  // The runtime keeps a connection open while an unread request body
  // still arrives, Connection: close or not (it waits for the body's end),
  // so a refused or stopped upload's client could hold it for ever by
  // sending slowly. As nginx's lingering close: give the client
  // LINGER_MS after the answer to read it (closing at once, with its data
  // still arriving, would reset the connection and could lose the answer),
  // then close.
  const lingerThenClose = (tracked: Tracked, info: Deno.ServeHandlerInfo) => {
    const requests = tracked.requests;
    // Only a connection stuck on that answer: an HTTP/2 connection (where
    // Connection: close means nothing) that took or runs other requests
    // is left alone.
    const stuck = () => tracked.active === 0 && tracked.requests === requests;
    const close = () => {
      const timer = setTimeout(() => {
        if (stuck()) tracked.abort.abort();
      }, LINGER_MS);
      Deno.unrefTimer(timer);
      tracked.served?.finished.finally(() => clearTimeout(timer));
    };
    info.completed.then(close, close);
  };

  const track = (conn: Deno.TcpConn) => {
    const tracked: Tracked = {
      abort: new AbortController(),
      active: 0,
      requests: 0,
      since: performance.now(),
    };
    const idle = () => {
      if (--tracked.active === 0) tracked.since = performance.now();
    };
    connections.add(tracked);
    stats.open++;
    tracked.served = serveConnection(conn, {
      signal: tracked.abort.signal,
      onError,
      async handler(req, info) {
        // The handler runs once the request head is in: from here until
        // the response is sent, no timer closes this connection.
        tracked.active++;
        tracked.requests++;
        info.completed.then(idle, idle);
        const response = await handler(req, info);
        if (saysClose(response)) lingerThenClose(tracked, info);
        return response;
      },
    });
    const done = tracked.served.finished.catch(() => {}).finally(() => {
      connections.delete(tracked);
      closed.delete(done);
      stats.open--;
    });
    closed.add(done);
  };

  const accepting = acceptLoop(listener, {
    logger,
    signal: stopping.signal,
    onConnection(conn) {
      if (connections.size >= maxConnections) {
        stats.rejected++;
        turnAway(conn);
      } else {
        track(conn);
      }
    },
    onBackoff: () => stats.acceptBackoffs++,
  });

  const { promise: finished, resolve: finish } = Promise.withResolvers<
    void
  >();
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      stopping.abort();
      clearInterval(sweeper);
      try {
        listener.close();
      } catch {
        // already closed
      }
      await accepting;
      await Promise.all(
        [...connections].map((conn) => conn.served?.shutdown().catch(() => {})),
      );
      await Promise.all([...closed]);
      finish();
    })();
    return shuttingDown;
  };

  const addr = listener.addr;
  onListen?.(addr);
  return {
    addr,
    stats,
    finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** Whether `response` carries `Connection: close`. */
function saysClose(response: Response): boolean {
  const value = response.headers.get("connection");
  return value !== null && /(^|,)\s*close\s*(,|$)/i.test(value);
}

interface AcceptLoopOptions {
  logger: Logger;
  signal: AbortSignal;
  onConnection: (conn: Deno.TcpConn) => void;
  onBackoff: () => void;
}

/** Accepts until `signal` aborts; waits and retries when out of fds. */
async function acceptLoop(
  listener: Deno.TcpListener,
  options: AcceptLoopOptions,
): Promise<void> {
  const { logger, signal, onConnection, onBackoff } = options;
  let backoffMs = 0;
  while (!signal.aborted) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (signal.aborted || error instanceof Deno.errors.BadResource) return;
      backoffMs = backoffMs === 0 ? 50 : Math.min(1000, backoffMs * 2);
      onBackoff();
      if (backoffMs === 50) {
        // A plain string: formatting the error object itself while out of
        // descriptors has crashed the runtime.
        logger.warn("server.accept_failed", {
          detail: String((error as { message?: unknown })?.message ?? error),
          outOfDescriptors: outOfDescriptors(error),
          retryInMs: backoffMs,
        });
      }
      await sleep(backoffMs, signal);
      continue;
    }
    if (backoffMs !== 0) {
      logger.info("server.accepting_again", {});
      backoffMs = 0;
    }
    onConnection(conn);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Answers a connection over the cap with the canned 503 once its request
 * starts to arrive (a response before the request confuses clients), then
 * closes it after the client's end or within a second in all, so the answer
 * is read rather than lost to a reset.
 */
function turnAway(conn: Deno.TcpConn): void {
  const linger = AbortSignal.timeout(1000);
  const close = () => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  linger.addEventListener("abort", close, { once: true });
  (async () => {
    const scratch = new Uint8Array(1024);
    if (await conn.read(scratch) === null) return;
    await conn.write(OVER_CAP);
    await conn.closeWrite();
    while (!linger.aborted && await conn.read(scratch) !== null) {
      // discard what the client still sends
    }
  })().catch(() => {}).finally(close);
}

/** `Deno.serve` with the same interface, for runtimes without the internal. */
function fallback(options: GuardedServerOptions): GuardedServer {
  const { hostname, port, handler, onListen, stats = new ConnectionStats() } =
    options;
  const server = Deno.serve({
    hostname,
    port,
    automaticCompression: false,
    onListen: (addr) => onListen?.(addr),
    ...(options.onError ? { onError: options.onError } : {}),
  }, handler);
  const shutdown = () => server.shutdown();
  return {
    addr: server.addr,
    stats,
    finished: server.finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
