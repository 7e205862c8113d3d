/**
 * A connection as `connection_set.ts` keeps it: its requests in flight and
 * waiting, and when it went idle as its sweeps tell ({@linkcode idleSince}).
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
  /** Requests waiting for one handled on this connection to end. */
  readonly waiting: (() => void)[];
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
