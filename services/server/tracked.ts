/**
 * A connection as `connection_set.ts` keeps it: its requests in flight and
 * waiting ({@linkcode turnOf}), and when it went idle as its sweeps tell
 * ({@linkcode idleSince}).
 *
 * @module
 */

import type { ServedConnection } from "./serve_connection.ts";

/** A connection the server serves. */
export interface Tracked {
  readonly abort: AbortController;
  served?: ServedConnection;
  /** Requests in flight: handled, or waiting in `waiting`. */
  active: number;
  /**
   * Requests waiting for one handled on this connection to end, in the
   * order they came ({@linkcode turnOf}, {@linkcode passTurn}).
   */
  readonly waiting: Set<() => void>;
  /** Set once the connection is closed, or being closed by us. */
  gone: boolean;
  /** Requests started on it so far. */
  requests: number;
  /**
   * When it was accepted, or when a sweep first found it idle after its
   * last request (performance.now()): see {@linkcode idleSince}.
   */
  since: number;
  /** `requests` when a sweep last found it idle. */
  swept: number;
  /** The client address an HTTP/2 connection is counted for. */
  http2Client?: string;
  /**
   * Set when it was turned out at the cap before its first request was
   * handled: the timer closing it unless that request comes first
   * (`ConnectionSet.makeRoom`).
   */
  turnedOut?: number;
}

/**
 * When `conn`, idle, became so, as far as the sweeps tell: a request's end
 * reads no clock (a read per request, ~0.5 µs in a VM, on every cached
 * GET), so a connection idle again since the last sweep counts as idle
 * from the next one on, and until then as the most recently idle. Its
 * timeout then runs from up to one sweep after its last answer: a
 * connection is closed up to two sweeps late, never early.
 */
export function idleSince(conn: Tracked): number {
  return conn.requests === conn.swept ? conn.since : Infinity;
}

/**
 * Resolves once a request of `conn` waiting in its line may be handled:
 * `true` when its turn came ({@linkcode passTurn}), `false` when `signal`
 * aborted first, which takes it out of the line. The runtime aborts a
 * request's signal when its client resets the stream (RST_STREAM): such
 * requests stayed in the line and were handled when their turn came, for
 * nobody. HEADERS then RST_STREAM behind streams held with the window at 0
 * slip under the runtime's rapid-reset guard at ~500 a second: each held
 * ~4 KB, then an upstream call, a file or a summary for a reset stream.
 */
export function turnOf(conn: Tracked, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  const { promise, resolve } = Promise.withResolvers<boolean>();
  const go = () => {
    signal.removeEventListener("abort", reset);
    resolve(true);
  };
  const reset = () => {
    conn.waiting.delete(go);
    resolve(false);
  };
  conn.waiting.add(go);
  signal.addEventListener("abort", reset, { once: true });
  return promise;
}

/** Gives the place of a request of `conn` that ended to the next waiting. */
export function passTurn(conn: Tracked): void {
  for (const next of conn.waiting) {
    conn.waiting.delete(next);
    next();
    return;
  }
}
