/**
 * The HTTP server of `main.ts`: `Deno.serve`'s request handling, under an
 * accept loop of our own that protects the process from connection floods.
 *
 * - **Connection cap**: at `maxConnections` open connections, the one idle
 *   longest (no request in flight) is closed to make room for a new one,
 *   those accepted under 1 s ago last, after the answer stalled longest
 *   (its client took nothing for 5 s); when there is none of these, the new
 *   one gets a canned `503` and is closed, so one client cannot take every
 *   file descriptor.
 * - **Out of file descriptors** (`EMFILE`/`ENFILE`): `accept()` failing
 *   ends `Deno.serve` (an unhandled rejection, exit 1); here up to
 *   32 idle connections, longest idle first, are closed to free
 *   descriptors (as nginx reuses connections), those accepted under 1 s
 *   ago spared (`FRESH_MS`), else the loop backs off
 *   (50 ms, doubling up to 1 s) and accepts again once descriptors free
 *   up. Idle sockets therefore cannot lock new clients out. With none
 *   idle, up to 32 answers whose client has taken nothing for 5 s (a
 *   download read by nobody, `slowhttptest -X`) are cut off, longest
 *   stalled first (`giveUpStalled`), where they held their socket and file
 *   until `DOWNLOAD_IDLE_TIMEOUT_MS`, and new clients waited as long;
 *   with none such, the writes whose body has been arriving for 5 s
 *   (`giveUpSlowBodies`: `slowhttptest -B`), answered 408.
 *   From then on the descriptors hold the cap down (`connection_cap.ts`):
 *   the connections then open less 32 are the cap (never below 32, and
 *   for 10 s after the last shortage), so a flood of idle sockets under a
 *   low `ulimit -n` meets the cap's prompt room-making rather than a
 *   second of back-off per descriptor limit of sockets.
 * - **Header timeout**: a connection that has not sent a complete request
 *   head within `headerTimeoutMs` of being accepted is closed (as nginx's
 *   `client_header_timeout`): idle and half-sent connections do not pile up.
 * - **Keep-alive timeout**: a connection idle between requests for
 *   `keepAliveTimeoutMs` is closed.
 * - **Streams per connection**: at most `maxStreamsPerConnection` requests
 *   of one HTTP/2 connection are handled at once; the others wait their
 *   turn, so one socket cannot hold a file or an upstream load per stream
 *   (the runtime takes 200 streams a connection).
 * - **HTTP/2 connections per client address**: past
 *   `maxHttp2ConnectionsPerClient`, a new one is closed at its first
 *   request, so one address cannot make the runtime hold 200 streams on
 *   each of thousands of connections (`http2_clients.ts`).
 * - **Connection: close is kept**: an answer saying it (an upload refused
 *   or stopped while its body still arrives) closes the connection 2 s
 *   later, the runtime alone keeping it open until the body ends.
 *
 * A connection with a request in flight is never closed by these timers:
 * a slow upload body has its own idle timeout (`UPLOAD_IDLE_TIMEOUT_MS`).
 * One sweep timer checks every connection, rather than one timer each.
 *
 * The accept loop and the over-cap answer live in `accept_loop.ts`, the
 * connections and their timers in `connection_set.ts`, the room made at
 * the cap and out of descriptors in `room_making.ts`. When the runtime
 * lacks the per-connection server this needs (see `serve_connection.ts`),
 * it logs a warning and serves with plain `Deno.serve`, without these
 * protections (`serve_fallback.ts`).
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import { acceptLoop, turnAway } from "./accept_loop.ts";
import { ConnectionCap } from "./connection_cap.ts";
import { ConnectionSet } from "./connection_set.ts";
import { ConnectionStats } from "./connection_stats.ts";
import { closeIdle, stopListening } from "./drain.ts";
import { connectionServer, type ServeConnection } from "./serve_connection.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { internalErrorAnswer } from "./internal_error.ts";
import { freeDescriptors, lowerCap, roomAtCap } from "./room_making.ts";
import { serveFallback } from "./serve_fallback.ts";

export { ConnectionStats } from "./connection_stats.ts";
export { internalErrorAnswer } from "./internal_error.ts";

/** Options of {@linkcode serveGuarded}. */
export interface GuardedServerOptions {
  /** Listen address. */
  hostname: string;
  /** Listen port; 0 picks a free one. */
  port: number;
  /**
   * Sets `SO_REUSEPORT` (Linux), so that a replacement can listen on the
   * same port while this server drains: with the kernel's
   * `net.ipv4.tcp_migrate_req` at 1, the connections queued at this
   * listener's close go to the replacement instead of being reset. Needs
   * `--unstable-net` under `deno run`. @default {false}
   */
  reusePort?: boolean;
  /**
   * Answers one request: a `Response` itself only when its body is all
   * there (bytes, or none), a promise otherwise (a streamed body); see
   * `connection_set.ts`.
   */
  handler: Deno.ServeHandler<Deno.NetAddr>;
  /** Answers when `handler` throws. @default {internalErrorAnswer} */
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
  /**
   * Requests handled at once on one connection (HTTP/2 streams); more wait
   * their turn. @default {32}
   */
  maxStreamsPerConnection?: number;
  /**
   * HTTP/2 connections of one client address at once; past it a new one is
   * closed at its first request (`http2_clients.ts`). 0: no cap.
   * @default {16}
   */
  maxHttp2ConnectionsPerClient?: number;
  /**
   * HTTP/2 connections from all addresses at once (0: no cap): the
   * per-address cap does not bound many addresses. @default {128}
   */
  maxHttp2Connections?: number;
  /** Counters to update. @default {new ConnectionStats()} */
  stats?: ConnectionStats;
  /**
   * How long {@linkcode GuardedServer.stopAccepting} keeps idle
   * connections open, each answering its next request with
   * `Connection: close`, before it closes those still idle. @default {1000}
   */
  drainIdleMs?: number;
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
   * Stops accepting (after taking the connections the kernel has queued);
   * every connection is closed after its next answer (`Connection:
   * close`), and those idle after `drainIdleMs` (none idle ends the wait
   * sooner) are closed, then it resolves. A drain that waits
   * for uploads calls it first, so that while it waits new requests go to
   * other instances. A no-op on the `Deno.serve` fallback.
   */
  stopAccepting(): Promise<void>;
  /**
   * Stops accepting, closes idle connections, and resolves once the
   * requests in flight are answered and every connection is closed.
   */
  shutdown(): Promise<void>;
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
    return serveFallback(options);
  }
  return guarded(options, serveConnection);
}

/** The validated limits of `options`, with their defaults. */
function limitsOf(options: GuardedServerOptions) {
  const {
    maxConnections = 10_000,
    headerTimeoutMs = 30_000,
    keepAliveTimeoutMs = 75_000,
    maxStreamsPerConnection = 32,
    maxHttp2ConnectionsPerClient = 16,
    maxHttp2Connections = 128,
    drainIdleMs = 1_000,
  } = options;
  checkWholeNumbers({
    maxConnections,
    headerTimeoutMs,
    keepAliveTimeoutMs,
    maxStreamsPerConnection,
    drainIdleMs,
  });
  return {
    maxConnections,
    headerTimeoutMs,
    keepAliveTimeoutMs,
    maxStreams: maxStreamsPerConnection,
    maxHttp2PerClient: maxHttp2ConnectionsPerClient,
    maxHttp2: maxHttp2Connections,
    drainIdleMs,
  };
}

/** The TCP listener `options` ask for (`SO_REUSEPORT` if `reusePort`). */
function listenOn(options: GuardedServerOptions): Deno.TcpListener {
  const { hostname, port, reusePort = false } = options;
  return Deno.listen({ hostname, port, transport: "tcp", reusePort });
}

function guarded(
  options: GuardedServerOptions,
  serveConnection: ServeConnection,
): GuardedServer {
  const { handler, onListen, logger } = options;
  const { onError = internalErrorAnswer, stats = new ConnectionStats() } =
    options;
  const limits = limitsOf(options);
  const listener = listenOn(options);
  const connections = new ConnectionSet({
    serveConnection,
    handler,
    onError,
    stats,
    ...limits,
  });
  const stopAccepting = acceptUnderCap(listener, {
    connections,
    stats,
    logger,
    maxConnections: limits.maxConnections,
  });
  const { finished, shutdown } = stopOnce(async () => {
    await stopAccepting();
    await connections.shutdown();
  });
  const addr = listener.addr;
  onListen?.(addr);
  return {
    addr,
    stats,
    finished,
    async stopAccepting() {
      connections.drain();
      await stopAccepting();
      await closeIdle(connections, limits.drainIdleMs);
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** What {@linkcode acceptUnderCap} accepts connections into. */
interface AcceptParts {
  connections: ConnectionSet;
  stats: ConnectionStats;
  logger: Logger;
  maxConnections: number;
}

/**
 * Accepts on `listener` into `connections`, under the connection cap and
 * out of descriptors making room as `room_making.ts` says (a connection
 * with no room is turned away); returns what stops accepting.
 */
function acceptUnderCap(
  listener: Deno.TcpListener,
  parts: AcceptParts,
): () => Promise<void> {
  const { connections, stats, logger, maxConnections } = parts;
  const cap = new ConnectionCap(maxConnections);
  let lastAccept = -Infinity;
  const stopping = new AbortController();
  const accepting = acceptLoop(listener, {
    logger,
    signal: stopping.signal,
    onConnection(conn) {
      lastAccept = performance.now();
      if (
        cap.reached(connections.size) && !roomAtCap(connections, stats)
      ) {
        stats.rejected++;
        turnAway(conn);
      } else {
        connections.add(conn);
        // How many are open now, as the cap counts them (tests wait on it).
        logger.debug("connection.accepted", { open: connections.size });
      }
    },
    onBackoff: () => stats.acceptBackoffs++,
    onExhausted: () => {
      lowerCap(cap, stats, logger);
      return freeDescriptors(connections, stats);
    },
  });
  return () => stopListening(listener, stopping, accepting, () => lastAccept);
}

/**
 * A `shutdown` that runs `stop` once however often it is called, and a
 * `finished` promise that settles when it has.
 */
function stopOnce(stop: () => Promise<void>): {
  finished: Promise<void>;
  shutdown: () => Promise<void>;
} {
  const { promise: finished, resolve: finish } = Promise.withResolvers<
    void
  >();
  let stopping: Promise<void> | undefined;
  const shutdown = () => stopping ??= stop().then(finish);
  return { finished, shutdown };
}
