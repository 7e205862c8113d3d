/**
 * Metrics of the server's connections: open now, closed for a timeout,
 * turned away over `MAX_CONNECTIONS`, and accept back-offs; all read from
 * the server's counters at scrape time.
 *
 * @module
 */

import { Counter, type Registry } from "prom-client";
import { mirroredCounter, scrapedGauge } from "../ops/metric_helpers.ts";

/** The server's connection counters (a `ConnectionStats` fits). */
export interface ConnectionCounts {
  /** Connections open now. */
  open: number;
  /** Closed without a complete request head in time. */
  headerTimeouts: number;
  /** Closed after idling between requests. */
  idleTimeouts: number;
  /** Closed while idle to make room for a new connection. */
  reclaimed: number;
  /** Downloads cut off, stalled, for want of file descriptors. */
  stalled: number;
  /** HTTP/2 connections closed over the per-address cap. */
  http2Refused: number;
  /** HTTP/2 connections closed over the cap of all addresses. */
  http2Full: number;
  /** Turned away over `MAX_CONNECTIONS`. */
  rejected: number;
  /** Failed accepts the server waited after. */
  acceptBackoffs: number;
}

/** Registers the `http_connections_*` and accept metrics on `registry`. */
export function connectionMetrics(
  registry: Registry,
  read: () => ConnectionCounts,
): void {
  scrapedGauge(registry, {
    name: "http_connections_open",
    help: "Client connections open now",
  }, () => read().open);
  new Counter({
    name: "http_connections_closed_total",
    help:
      "Connections closed by the server: header_timeout (no complete request head in HEADER_TIMEOUT_MS), idle_timeout (idle past KEEPALIVE_TIMEOUT_MS), reclaimed (idle, closed to make room for a new one at MAX_CONNECTIONS or out of file descriptors), stalled (an answer whose client took nothing for 5 s, or a write body still arriving after 5 s, closed at MAX_CONNECTIONS or out of file descriptors with none idle), http2_per_client (an HTTP/2 connection past MAX_HTTP2_CONNECTIONS_PER_CLIENT of its address, closed at its first request), http2_total (one past MAX_HTTP2_CONNECTIONS of all addresses)",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      const counts = read();
      this.reset();
      this.inc({ reason: "header_timeout" }, counts.headerTimeouts);
      this.inc({ reason: "idle_timeout" }, counts.idleTimeouts);
      this.inc({ reason: "reclaimed" }, counts.reclaimed);
      this.inc({ reason: "stalled" }, counts.stalled);
      this.inc({ reason: "http2_per_client" }, counts.http2Refused);
      this.inc({ reason: "http2_total" }, counts.http2Full);
    },
  });
  mirroredCounter(registry, {
    name: "http_connections_rejected_total",
    help: "Connections turned away with 503 over MAX_CONNECTIONS",
  }, () => read().rejected);
  mirroredCounter(registry, {
    name: "http_accept_backoffs_total",
    help:
      "Times accepting a connection failed (out of file descriptors) and the server waited before trying again",
  }, () => read().acceptBackoffs);
}
