/**
 * The connections the server has accepted, each served by the runtime's
 * per-connection server. One sweep timer closes those that sent no request
 * head within the header timeout or idled past the keep-alive timeout; one
 * with a request in flight is never closed by it. An answer saying
 * `Connection: close` closes its connection a little later (nginx's
 * lingering close). Out of room (the cap, or descriptors), the connections
 * idle longest make it, as nginx reuses its idle ones. An HTTP/2
 * connection handles at most `maxStreams` requests at once, the others
 * wait their turn: one socket cannot hold 200 files or upstream loads open.
 *
 * @module
 */

import { setConnectionCloser } from "../http/connection_close.ts";
import { plainAddress } from "../http/trusted_proxies.ts";
import {
  closeAfter,
  lingerThenClose,
  saysCloseWithBody,
} from "./answer_close.ts";
import type { ConnectionStats } from "./connection_stats.ts";
import { Http2Clients } from "./http2_clients.ts";
import { passTurn, type Tracked, turnOf } from "./tracked.ts";
import { idleLongest } from "./idle_order.ts";
import { answerTurnedOut, turnOut } from "./turned_out.ts";
import type { ServeConnection } from "./serve_connection.ts";

/** Options of {@linkcode ConnectionSet}. */
export interface ConnectionSetOptions {
  /** Serves one connection (`serve_connection.ts`). */
  serveConnection: ServeConnection;
  /**
   * Answers one request. It returns a `Response` itself (not a promise)
   * only when the body is all there (bytes, or none): the connection then
   * counts as idle at once. A streamed answer comes as a promise, and the
   * connection stays busy until it is sent.
   */
  handler: Deno.ServeHandler<Deno.NetAddr>;
  /** Answers when `handler` throws. */
  onError: (error: unknown) => Response | Promise<Response>;
  /** Time to send a complete request head, ms. */
  headerTimeoutMs: number;
  /** Time a connection may idle between requests, ms. */
  keepAliveTimeoutMs: number;
  /**
   * Requests handled at once on one connection (HTTP/2 streams); more wait
   * for one of them to end.
   */
  maxStreams: number;
  /** HTTP/2 connections of one client address at once (0: no cap). */
  maxHttp2PerClient: number;
  /** HTTP/2 connections from all addresses at once (0: no cap). */
  maxHttp2: number;
  /** Counters to update. */
  stats: ConnectionStats;
}

/**
 * `response`, its streamed body cancelled when `tracked` closed while it
 * was being made: the runtime drops the answer of a closed connection
 * without cancelling its body, so a download's file stayed open.
 */
function dropIfGone(tracked: Tracked, response: Response): Response {
  if (tracked.gone && response.body !== null) {
    response.body.cancel().catch(() => {});
  }
  return response;
}

/** The open connections, their timers, and their shutdown. */
export class ConnectionSet {
  readonly #options: ConnectionSetOptions;
  readonly #connections = new Set<Tracked>();
  readonly #closed = new Set<Promise<void>>();
  readonly #sweeper: number;
  readonly #http2: Http2Clients;
  /** Set while {@linkcode ConnectionSet.#close} aborts a connection. */
  #closing = false;
  /** Set by {@linkcode ConnectionSet.drain}. */
  #draining = false;
  /** Drops the runtime's `BadResource` while closing: see `#close`. */
  readonly #ignoreClosed = (event: ErrorEvent) => {
    if (this.#closing && event.error instanceof Deno.errors.BadResource) {
      event.preventDefault();
    }
  };

  constructor(options: ConnectionSetOptions) {
    this.#options = options;
    this.#http2 = new Http2Clients({
      perClient: options.maxHttp2PerClient,
      total: options.maxHttp2,
    });
    const { headerTimeoutMs, keepAliveTimeoutMs } = options;
    // A quarter of the shorter timeout (10 ms to 1 s): a connection is
    // closed at most that late (twice that after a request: idleSince).
    const sweepMs = Math.min(
      1000,
      Math.max(
        10,
        Math.floor(Math.min(headerTimeoutMs, keepAliveTimeoutMs) / 4),
      ),
    );
    globalThis.addEventListener("error", this.#ignoreClosed);
    // Typed as Node's Timeout once node: modules are loaded; a number here.
    this.#sweeper = setInterval(
      () => this.#sweep(),
      sweepMs,
    ) as unknown as number;
    Deno.unrefTimer(this.#sweeper);
  }

  /** Connections open (those being closed by a timer no longer count). */
  get size(): number {
    return this.#connections.size;
  }

  /** Serves `conn` until it closes. */
  add(conn: Deno.TcpConn): void {
    const { serveConnection, onError, stats } = this.#options;
    const tracked: Tracked = {
      abort: new AbortController(),
      active: 0,
      waiting: new Set(),
      gone: false,
      requests: 0,
      since: performance.now(),
      swept: 0,
    };
    this.#connections.add(tracked);
    stats.open++;
    tracked.served = serveConnection(conn, {
      signal: tracked.abort.signal,
      onError,
      handler: this.#tracking(tracked),
    });
    const done = tracked.served.finished.catch(() => {}).finally(() => {
      tracked.gone = true;
      clearTimeout(tracked.turnedOut);
      if (tracked.http2Client !== undefined) {
        this.#http2.release(tracked.http2Client);
      }
      this.#connections.delete(tracked);
      this.#closed.delete(done);
      stats.open--;
    });
    this.#closed.add(done);
  }

  /**
   * The handler for `tracked`'s requests: the options' handler, with the
   * connection counted busy from the request head until its answer is out,
   * and at most `maxStreams` of them handled at once.
   */
  #tracking(tracked: Tracked): Deno.ServeHandler<Deno.NetAddr> {
    const { maxStreams } = this.#options;
    const idle = () => {
      tracked.active--;
      // The place freed goes to the next request waiting, if any.
      passTurn(tracked);
    };
    const serve = this.#serving(tracked, idle);
    return (req, info) => {
      if (tracked.turnedOut !== undefined) {
        const { stats } = this.#options;
        return answerTurnedOut(
          tracked,
          info,
          stats,
          () => this.#close(tracked),
        );
      }
      if (tracked.requests === 0 && !this.#admitted(tracked, req, info)) {
        return new Response(null, { status: 429 });
      }
      // Called once the request head is in: from here until the response
      // is sent, no timer closes this connection.
      tracked.active++;
      tracked.requests++;
      // Only an HTTP/2 connection has more than one request in flight.
      if (tracked.active - tracked.waiting.size > maxStreams) {
        return turnOf(tracked, req.signal).then((turn) => {
          if (turn && !tracked.gone) return serve(req, info);
          // Closed while it waited, or its stream reset by the client:
          // nobody reads an answer, and a body (an opened file) handed to
          // a closed connection is never cancelled by the runtime. A reset
          // one had no place to pass on.
          if (turn) idle();
          else tracked.active--;
          return new Response(null, { status: 503 });
        });
      }
      return serve(req, info);
    };
  }

  /**
   * Whether `tracked`, whose first request is `req`, may be served: an
   * HTTP/2 connection over `maxHttp2PerClient` for its address, or over
   * `maxHttp2` in all, is closed at once, its other streams unhandled.
   * Its address is counted as {@linkcode plainAddress} gives it.
   */
  #admitted(
    tracked: Tracked,
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): boolean {
    if (tracked.gone) return false;
    // Keyed as every other per-client count (routes/pipeline.ts): an IPv4
    // address mapped into IPv6 (a client of a dual-stack `::` listener) is
    // its IPv4 address.
    const client = plainAddress(info.remoteAddr.hostname);
    const verdict = this.#http2.admit(req, client);
    if (verdict === "counted") tracked.http2Client = client;
    if (verdict === "http1" || verdict === "counted") return true;
    if (this.#connections.delete(tracked)) {
      this.#options.stats[verdict === "over" ? "http2Refused" : "http2Full"]++;
      this.#close(tracked);
    }
    return false;
  }

  /**
   * Runs the options' handler for a request of `tracked` counted in flight,
   * and calls `idle` once its answer is sent.
   */
  #serving(
    tracked: Tracked,
    idle: () => void,
  ): Deno.ServeHandler<Deno.NetAddr> {
    const { handler } = this.#options;
    const close = () => {
      if (this.#connections.delete(tracked)) this.#close(tracked);
    };
    return (req, info) => {
      let answer;
      try {
        answer = handler(req, info);
      } catch (error) {
        info.completed.then(idle, idle);
        throw error;
      }
      if (answer instanceof Promise) {
        info.completed.then(idle, idle);
        // A streamed answer may need to close its connection (a stalled
        // download over HTTP/2): not registered for memory hits.
        setConnectionCloser(req, close);
        return answer.then((response) =>
          this.#sent(tracked, req, info, dropIfGone(tracked, response))
        );
      }
      // An answer given at once (a memory hit) goes back at once: an
      // async wrapper would cost a promise and a turn per request. Such an
      // answer holds its whole body (see the handler's contract), so the
      // connection is idle as of now: the runtime writes a few hundred
      // bytes, and it is the most recently idle connection, the last one a
      // shortage would close. No completion promise per request.
      idle();
      return this.#sent(tracked, req, info, answer);
    };
  }

  /** `response`, once the connection is set to close after it if it says so. */
  #sent(
    tracked: Tracked,
    req: Request,
    info: Deno.ServeHandlerInfo,
    response: Response,
  ): Response {
    if (this.#draining) closeAfter(response);
    if (saysCloseWithBody(req, response)) {
      lingerThenClose(tracked, info, () => this.#close(tracked));
    }
    return response;
  }

  /**
   * Closes up to `count` connections with no request in flight, those idle
   * longest first (accepted and still silent, or kept alive between
   * requests), to make room for new ones; returns how many it closed.
   * Clients expect an idle connection to be closed at any time (RFC 9112
   * 9.5), and a slowloris connection is one of these. Only those idle for
   * `minIdleMs` or more (see `idleSince`), chosen by idle_order.ts.
   */
  reclaimIdle(count: number, minIdleMs = 0): number {
    const closing = this.#takeIdle(count, minIdleMs);
    for (const conn of closing) this.#close(conn);
    return closing.length;
  }

  /**
   * At the connection cap: makes room as {@linkcode reclaimIdle} with a
   * count of one, but a connection whose first request has not been
   * handled yet is turned out (`turned_out.ts`), not closed: its request
   * may be on its way. Returns whether it made room.
   */
  makeRoom(minIdleMs = 0): boolean {
    const [conn] = this.#takeIdle(1, minIdleMs);
    if (conn === undefined) return false;
    // Between requests, a client expects the close (RFC 9112 9.5).
    if (conn.requests === 0) turnOut(conn, () => this.#close(conn));
    else this.#close(conn);
    return true;
  }

  /** Takes out (reclaimed) up to `count` idle connections, as above. */
  #takeIdle(count: number, minIdleMs: number): Tracked[] {
    const before = minIdleMs === 0 ? Infinity : performance.now() - minIdleMs;
    const taken = idleLongest(this.#connections, count, before);
    for (const conn of taken) this.#connections.delete(conn);
    this.#options.stats.reclaimed += taken.length;
    return taken;
  }

  /**
   * Every answer from now on says `Connection: close`: a balancer's next
   * request needs a new connection, which the closed listener refuses.
   */
  drain(): void {
    this.#draining = true;
  }

  /** Connections open with no request in flight. */
  get idle(): number {
    return [...this.#connections].filter((conn) => conn.active === 0).length;
  }

  /** Closes the connections with no request in flight. */
  closeIdle(): void {
    for (const conn of this.#connections) {
      if (conn.active === 0 && this.#connections.delete(conn)) {
        this.#close(conn);
      }
    }
  }

  /**
   * Stops the timers, closes idle connections, and resolves once the
   * requests in flight are answered and every connection is closed.
   */
  async shutdown(): Promise<void> {
    clearInterval(this.#sweeper);
    globalThis.removeEventListener("error", this.#ignoreClosed);
    await Promise.all(
      [...this.#connections].map((conn) =>
        conn.served?.shutdown().catch(() => {})
      ),
    );
    await Promise.all([...this.#closed]);
  }

  /**
   * Closes `conn` at once. When its client closed it a moment ago, the
   * runtime may have closed its resource before that end reached us (the
   * connection is still in the set), and its abort listener then throws
   * `BadResource`. An error thrown in an event listener is reported as
   * uncaught, which ends the process; and reporting it formats its stack,
   * which out of descriptors (when idle connections are reclaimed) reads
   * source maps from disk and panics (descriptors.ts). Seen when 3,000 idle
   * connections past the descriptor limit ended at once. The connection is
   * closed either way, as asked: the error is made without frames and
   * dropped, and only while this runs.
   */
  #close(conn: Tracked): void {
    conn.gone = true;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    this.#closing = true;
    try {
      conn.abort.abort();
    } finally {
      this.#closing = false;
      Error.stackTraceLimit = limit;
    }
  }

  #sweep(): void {
    const { headerTimeoutMs, keepAliveTimeoutMs, stats } = this.#options;
    const now = performance.now();
    for (const conn of this.#connections) {
      if (conn.active > 0) continue;
      if (conn.requests !== conn.swept) {
        // Idle again since the last sweep: its idle time counts from now.
        conn.swept = conn.requests;
        conn.since = now;
        continue;
      }
      const first = conn.requests === 0;
      if (now - conn.since < (first ? headerTimeoutMs : keepAliveTimeoutMs)) {
        continue;
      }
      this.#connections.delete(conn);
      if (first) stats.headerTimeouts++;
      else stats.idleTimeouts++;
      this.#close(conn);
    }
  }
}
