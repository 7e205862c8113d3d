/**
 * The service's Prometheus registry (`npm:prom-client`, a registry of our
 * own) with the metrics every request has: `http_requests_total`,
 * `http_request_duration_seconds`, `http_requests_in_flight`, and the
 * process's memory and event-loop delay. Each capability registers its own
 * metrics on {@linkcode Metrics.registry} from its folder
 * (`services/<capability>/metrics.ts`). Labels carry route patterns
 * (`/posts/:id`) and small enums, never raw paths, so cardinality stays
 * bounded whatever clients send.
 *
 * @module
 */

import { Gauge, Registry } from "prom-client";
import { scrapedGauge } from "./metric_helpers.ts";
import { checkWholeNumbers } from "./whole_numbers.ts";
import { WorkerMetrics, type WorkerMetricsOptions } from "./worker_metrics.ts";

/** Options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /** How often the event-loop delay is sampled, ms. @default {500} */
  eventLoopSampleMs?: number;
}

const HTTP_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
] as const;

/** A metric as prom-client's registry renders it. */
interface Snapshot {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: {
    value: number;
    labels: Record<string, string | number>;
    metricName?: string;
  }[];
}

interface Series {
  route: string;
  method: string;
  status: string;
  /** `status` as the number recorded. */
  code: number;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last is +Inf. */
  buckets: number[];
}

/**
 * Per-request HTTP counts and durations, kept as plain numbers and turned
 * into `http_requests_total` and `http_request_duration_seconds` only when
 * scraped. prom-client hashes label objects on every observation, which
 * costs more than the rest of a cached request; this records one with
 * three map lookups on the labels as they come (route patterns and methods
 * are the same string objects request after request, whose hashes V8
 * keeps: no key string is built per request) and two additions, or, for
 * the series of the request before, three comparisons in their stead.
 */
class RequestStats {
  /** Every series, in the order first seen. */
  readonly #series: Series[] = [];
  /** The series by route, then method, then status. */
  readonly #index = new Map<string, Map<string, Map<number, Series>>>();

  /**
   * The series of the last request recorded: the next is most often of
   * the same route, method and status (a route served over and over), and
   * comparing them costs less than the three lookups, whose tables are out
   * of the data cache by the next request (callgrind per cached hit:
   * bench/PROFILE.md, sixteenth round).
   */
  #last: Series | undefined;

  record(route: string, method: string, status: number, seconds: number) {
    const last = this.#last;
    const series = last !== undefined && last.route === route &&
        last.method === method && last.code === status
      ? last
      : (this.#last = this.#find(route, method, status));
    series.count++;
    series.sum += seconds;
    let i = 0;
    while (i < HTTP_BUCKETS.length && seconds > HTTP_BUCKETS[i]!) i++;
    series.buckets[i]!++;
  }

  #find(route: string, method: string, status: number): Series {
    let byMethod = this.#index.get(route);
    if (byMethod === undefined) {
      this.#index.set(route, byMethod = new Map());
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map());
    let series = byStatus.get(status);
    if (series === undefined) {
      series = {
        route,
        method,
        status: String(status),
        code: status,
        count: 0,
        sum: 0,
        buckets: new Array(HTTP_BUCKETS.length + 1).fill(0),
      };
      byStatus.set(status, series);
      this.#series.push(series);
    }
    return series;
  }

  counter(): Snapshot {
    return {
      name: "http_requests_total",
      help: "HTTP requests by route pattern, method and status",
      type: "counter",
      aggregator: "sum",
      values: this.#series.map((s) => ({
        value: s.count,
        labels: { route: s.route, method: s.method, status: s.status },
      })),
    };
  }

  histogram(): Snapshot {
    // The histogram is by route and method: merge the statuses.
    const merged = new Map<string, Series>();
    for (const s of this.#series) {
      const key = `${s.route} ${s.method}`;
      const into = merged.get(key);
      if (!into) {
        merged.set(key, { ...s, buckets: [...s.buckets] });
        continue;
      }
      into.count += s.count;
      into.sum += s.sum;
      s.buckets.forEach((n, i) => into.buckets[i]! += n);
    }
    const values: Snapshot["values"] = [];
    for (const s of merged.values()) {
      const labels = { route: s.route, method: s.method };
      let cumulative = 0;
      HTTP_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({
          metricName: "http_request_duration_seconds_bucket",
          labels: { ...labels, le },
          value: cumulative,
        });
      });
      values.push({
        metricName: "http_request_duration_seconds_bucket",
        labels: { ...labels, le: "+Inf" },
        value: s.count,
      });
      values.push({
        metricName: "http_request_duration_seconds_sum",
        labels,
        value: s.sum,
      });
      values.push({
        metricName: "http_request_duration_seconds_count",
        labels,
        value: s.count,
      });
    }
    return {
      name: "http_request_duration_seconds",
      help: "Time to the response headers, by route pattern",
      type: "histogram",
      aggregator: "sum",
      values,
    };
  }

  reset(): void {
    this.#series.length = 0;
    this.#index.clear();
    this.#last = undefined;
  }
}

/** The registry, with the HTTP request and process metrics. */
export class Metrics implements Disposable {
  /** The registry `/metrics` exposes; capabilities register on it. */
  readonly registry: Registry = new Registry();

  readonly #http = new RequestStats();
  #httpInflight = 0;
  readonly #eventLoopTimer: number;
  #eventLoopDelay = 0;
  /** Under `deno serve --parallel`: the other workers' figures. */
  #workers: WorkerMetrics | undefined;

  constructor(options: MetricsOptions = {}) {
    const { eventLoopSampleMs = 500 } = options;
    checkWholeNumbers({ eventLoopSampleMs }, { min: 10 });
    this.#registerRequestStats();
    // A plain count, read at scrape time: prom-client's inc() hashes its
    // label object on every call, twice per request.
    scrapedGauge(this.registry, {
      name: "http_requests_in_flight",
      help: "HTTP requests being handled",
    }, () => this.#httpInflight);
    this.#eventLoopTimer = this.#processMetrics(eventLoopSampleMs);
  }

  /** `http_requests_total` and the duration histogram, rendered on scrape. */
  #registerRequestStats(): void {
    const http = this.#http;
    for (const read of [() => http.counter(), () => http.histogram()]) {
      const { name, help, type } = read();
      // prom-client accepts any object with this shape as a metric.
      this.registry.registerMetric(
        {
          name,
          help,
          type,
          aggregator: "sum",
          get: () => Promise.resolve(read()),
          reset: () => http.reset(),
        } as unknown as Parameters<Registry["registerMetric"]>[0],
      );
    }
  }

  /** Memory and event-loop delay; returns the probe timer. */
  #processMetrics(sampleMs: number): number {
    const registers = [this.registry];
    new Gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes",
      registers,
      // The process's, which every worker of --parallel reads alike.
      aggregator: "first",
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
    const delay = () => this.#eventLoopDelay;
    new Gauge({
      name: "process_event_loop_delay_seconds",
      help: "How late the last event-loop probe timer fired",
      registers,
      // Each worker of --parallel has its own loop: the latest of them.
      aggregator: "max",
      collect() {
        this.set(delay());
      },
    });
    // A timer that should fire every N ms fires late by as long as the loop
    // was busy: that lateness is the event-loop delay.
    let expected = performance.now() + sampleMs;
    // Typed as Node's Timeout once node: modules are loaded; a number in Deno.
    const timer = setInterval(() => {
      const now = performance.now();
      this.#eventLoopDelay = Math.max(0, now - expected) / 1000;
      expected = now + sampleMs;
    }, sampleMs) as unknown as number;
    Deno.unrefTimer(timer);
    return timer;
  }

  /** Records a handled request. */
  request(
    route: string,
    method: string,
    status: number,
    seconds: number,
  ): void {
    this.#http.record(route, method, status, seconds);
  }

  /** Adjusts the in-flight gauge. */
  inflight(delta: 1 | -1): void {
    this.#httpInflight += delta;
  }

  /**
   * From now on {@linkcode Metrics.expose} gives the figures of every
   * worker of the process that shares them too (`deno serve --parallel`:
   * serve.ts), merged at scrape time (worker_metrics.ts).
   */
  shareWithWorkers(options: WorkerMetricsOptions = {}): void {
    this.#workers ??= new WorkerMetrics(this.registry, options);
  }

  /**
   * The exposition text and its content type; `undefined` when another
   * worker's figures did not come in time (see
   * {@linkcode Metrics.shareWithWorkers}).
   */
  async expose(): Promise<
    { body: string; contentType: string } | undefined
  > {
    const body = this.#workers
      ? await this.#workers.expose()
      : await this.registry.metrics();
    if (body === undefined) return undefined;
    return { body, contentType: this.registry.contentType };
  }

  /** Stops the event-loop probe; leaves the other workers. */
  close(): void {
    clearInterval(this.#eventLoopTimer);
    this.#workers?.close();
  }

  /** Same as {@linkcode Metrics.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
