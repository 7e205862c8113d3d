/**
 * Metrics of the upstream's protections: requests waiting for a slot,
 * calls shed before reaching the upstream, and the circuit breaker's state.
 *
 * @module
 */

import { Counter, Gauge, type Registry } from "prom-client";
import type { BreakerState } from "./circuit_breaker.ts";
import type { ShedReason } from "./client.ts";

/** Where the gauges read live values from at scrape time. */
export interface UpstreamGuardSources {
  /** Requests waiting for an upstream slot. */
  upstreamQueued?: () => number;
  /** The circuit breaker's state. */
  upstreamBreakerState?: () => BreakerState;
}

const BREAKER_VALUE: Record<BreakerState, number> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

/**
 * Registers `upstream_queue_waiting`, `upstream_shed_total` and
 * `upstream_breaker_state` on `registry`; returns the recorder of shed
 * calls.
 */
export function upstreamGuardMetrics(
  registry: Registry,
  sources: UpstreamGuardSources,
): (reason: ShedReason) => void {
  const registers = [registry];
  const { upstreamQueued, upstreamBreakerState } = sources;
  new Gauge({
    name: "upstream_queue_waiting",
    help:
      "Requests waiting for an upstream slot (at most UPSTREAM_QUEUE_LIMIT)",
    registers,
    collect() {
      if (upstreamQueued) this.set(upstreamQueued());
    },
  });
  new Gauge({
    name: "upstream_breaker_state",
    help: "Upstream circuit breaker: 0 closed, 1 half-open, 2 open",
    registers,
    collect() {
      if (upstreamBreakerState) this.set(BREAKER_VALUE[upstreamBreakerState()]);
    },
  });
  const shed = new Counter({
    name: "upstream_shed_total",
    help:
      "Upstream calls refused before reaching the upstream, by reason: queue_full, queue_timeout, breaker_open",
    labelNames: ["reason"],
    registers,
  });
  for (const reason of ["queue_full", "queue_timeout", "breaker_open"]) {
    shed.inc({ reason }, 0);
  }
  return (reason) => shed.inc({ reason });
}
