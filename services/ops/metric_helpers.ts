/**
 * Small helpers for capabilities that register metrics on the shared
 * registry: a gauge read at scrape time, and a counter mirroring a
 * monotonic count kept elsewhere.
 *
 * @module
 */

import { type Aggregator, Counter, Gauge, type Registry } from "prom-client";

/** The name and help text of a metric. */
export interface MetricName {
  /** The Prometheus name, e.g. `cache_entries`. */
  name: string;
  /** One line. */
  help: string;
  /**
   * How the workers' values add up to the process's under
   * `deno serve --parallel` (worker_metrics.ts): `max` for a figure each
   * worker reads off a shared thing, `min` for "every worker is".
   * @default {"sum"}
   */
  aggregator?: Aggregator;
}

/** Registers a gauge whose value is `read()` at scrape time. */
export function scrapedGauge(
  registry: Registry,
  metric: MetricName,
  read: () => number,
): void {
  new Gauge({
    ...metric,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * Registers a counter that mirrors a count kept by its owner (which only
 * grows): at scrape time it is reset and set to `read()`, since
 * prom-client counters only go up by `inc()`.
 */
export function mirroredCounter(
  registry: Registry,
  metric: MetricName,
  read: () => number,
): void {
  new Counter({
    ...metric,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
