/**
 * Metrics of the upstream client: attempts by outcome and their duration,
 * free concurrency slots, requests waiting for a slot, calls shed before
 * reaching the upstream (and what answered their requests), and the
 * circuit breaker's state.
 *
 * @module
 */

import { Counter, Histogram, type Registry } from "prom-client";
import { scrapedGauge } from "../ops/metric_helpers.ts";
import type { BreakerState } from "./circuit_breaker.ts";
import type { ShedAnswer, ShedReason, UpstreamAttempt } from "./client.ts";

/** Where the gauges read live values from at scrape time. */
export interface UpstreamSources {
  /** Free upstream concurrency slots. */
  openSlots: () => number;
  /** Requests waiting for an upstream slot. */
  queued: () => number;
  /** The circuit breaker's state. */
  breakerState: () => BreakerState;
}

/** The recorders a `JsonPlaceholderClient` takes as `onAttempt`/`onShed`. */
export interface UpstreamRecorders {
  /** Records one attempt. */
  onAttempt: (attempt: UpstreamAttempt) => void;
  /** Records a call shed before reaching the upstream, and its answer. */
  onShed: (reason: ShedReason, answer: ShedAnswer) => void;
}

const BREAKER_VALUE: Record<BreakerState, number> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

const SHED_REASONS: readonly ShedReason[] = [
  "client_share",
  "queue_full",
  "queue_timeout",
  "breaker_open",
];

const SHED_ANSWERS: readonly ShedAnswer[] = ["refused", "stale"];

/**
 * Registers the `upstream_*` metrics on `registry`; returns the recorders
 * to give the client. `sources` are read at scrape time, so they may name
 * a client made later.
 */
export function upstreamMetrics(
  registry: Registry,
  sources: UpstreamSources,
): UpstreamRecorders {
  const onAttempt = attemptMetrics(registry);
  scrapedGauge(registry, {
    name: "upstream_open_slots",
    help: "Free upstream concurrency slots (UPSTREAM_CONCURRENCY minus in use)",
  }, sources.openSlots);
  scrapedGauge(registry, {
    name: "upstream_queue_waiting",
    help:
      "Requests waiting for an upstream slot (at most UPSTREAM_QUEUE_LIMIT)",
  }, sources.queued);
  scrapedGauge(registry, {
    name: "upstream_breaker_state",
    help: "Upstream circuit breaker: 0 closed, 1 half-open, 2 open",
    // Under --parallel each worker has its own breaker: the most open.
    aggregator: "max",
  }, () => BREAKER_VALUE[sources.breakerState()]);
  const shed = new Counter({
    name: "upstream_shed_total",
    help:
      "Upstream calls shed before reaching the upstream, by reason (client_share, queue_full, queue_timeout, breaker_open) and by what answered the request: refused (503) or stale (a stored copy)",
    labelNames: ["reason", "answer"],
    registers: [registry],
  });
  // Every pair is shown from the start, at 0.
  for (const reason of SHED_REASONS) {
    for (const answer of SHED_ANSWERS) shed.inc({ reason, answer }, 0);
  }
  return {
    onAttempt,
    onShed: (reason, answer) => shed.inc({ reason, answer }),
  };
}

/** The attempt counters and histogram; returns their recorder. */
function attemptMetrics(
  registry: Registry,
): (attempt: UpstreamAttempt) => void {
  const registers = [registry];
  const requests = new Counter({
    name: "upstream_requests_total",
    help: "Upstream attempts by outcome: ok, not_found, retry, error, timeout",
    labelNames: ["outcome"],
    registers,
  });
  const retries = new Counter({
    name: "upstream_retries_total",
    help: "Upstream attempts that were retried",
    registers,
  });
  const duration = new Histogram({
    name: "upstream_request_duration_seconds",
    help: "Duration of upstream attempts",
    labelNames: ["outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return ({ outcome, durationMs }) => {
    requests.inc({ outcome });
    duration.observe({ outcome }, durationMs / 1000);
    if (outcome === "retry") retries.inc();
  };
}
