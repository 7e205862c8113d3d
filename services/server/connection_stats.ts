/**
 * The counters of the server's connections (`connection_set.ts` and the
 * accept loop update them, `/metrics` reads them).
 *
 * @module
 */

/** Counters of the server's connections, read by the metrics. */
export class ConnectionStats {
  /** Connections open now. */
  open = 0;
  /** Closed for not sending a request head within the header timeout. */
  headerTimeouts = 0;
  /** Closed for idling between requests past the keep-alive timeout. */
  idleTimeouts = 0;
  /** Closed while idle to make room for a new connection. */
  reclaimed = 0;
  /** Answers cut off, stalled, for room when no connection is idle. */
  stalled = 0;
  /** HTTP/2 connections closed over `MAX_HTTP2_CONNECTIONS_PER_CLIENT`. */
  http2Refused = 0;
  /** HTTP/2 connections closed over `MAX_HTTP2_CONNECTIONS`. */
  http2Full = 0;
  /** Turned away with 503 over the connection cap. */
  rejected = 0;
  /** Times `accept()` failed (out of file descriptors) and the loop waited. */
  acceptBackoffs = 0;
}
