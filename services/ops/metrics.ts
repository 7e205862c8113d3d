/**
 * Prometheus metrics of the service (`npm:prom-client` with a registry of
 * our own): HTTP, cache, upstream, uploads and process. Labels carry route
 * patterns (`/posts/:id`) and small enums, never raw paths, so cardinality
 * stays bounded whatever clients send.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";

// The shapes below are declared here, structurally, so that ops imports no
// capability folder; the capabilities' own types fit them.

/** What the cache store gauges read (a `CacheStore` fits). */
export interface CacheStoreStatsSource {
  stats(): { entries: number; bytes: number; evictions: number };
}

/** What the stored-files gauges read (the storage's stats fit). */
export interface FileStatsSource {
  files: number;
  refreshes: number;
  dirRecreated: number;
}

/** An upstream attempt, as the upstream client reports it. */
export interface UpstreamAttemptFigures {
  /** `ok`, `not_found`, `retry`, `error` or `timeout`. */
  outcome: string;
  durationMs: number;
}

/** The figures of a finished upload that metrics record. */
export interface UploadFigures {
  size: number;
  bytesPerSecond: number;
  readerWaitMs: number;
  readerBlockedMs: number;
  writerWriteMs: number;
  writerIdleMs: number;
  maxQueuedBytes: number;
  bound: "read" | "write";
}

/** Where metrics read live values from at scrape time. */
export interface MetricsSources {
  /** The cache store (entries, bytes, evictions). */
  store?: () => CacheStoreStatsSource;
  /** Free upstream concurrency slots. */
  upstreamOpenSlots?: () => number;
  /** Uploads in flight. */
  uploadsActive?: () => number;
  /** The stored files (index size, refreshes, recreated folder). */
  files?: () => FileStatsSource;
  /** The server's connection counters. */
  connections?: () => ConnectionCounts;
}

/** The server's connection counters (`services/server/http_server.ts`). */
export interface ConnectionCounts {
  open: number;
  headerTimeouts: number;
  idleTimeouts: number;
  rejected: number;
  acceptBackoffs: number;
}

/** Options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /** Live values read at scrape time. */
  sources?: MetricsSources;
  /** How often the event-loop delay is sampled, ms. @default {500} */
  eventLoopSampleMs?: number;
}

const ms = (value: number) => value / 1000;

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
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last is +Inf. */
  buckets: number[];
}

/**
 * Per-request HTTP counts and durations, kept as plain numbers and turned
 * into `http_requests_total` and `http_request_duration_seconds` only when
 * scraped. prom-client hashes label objects on every observation, which
 * costs more than the rest of a cached request; this records one with a map
 * lookup and two additions.
 */
class RequestStats {
  readonly #series = new Map<string, Series>();

  record(route: string, method: string, status: number, seconds: number) {
    const key = `${route} ${method} ${status}`;
    let series = this.#series.get(key);
    if (!series) {
      series = {
        route,
        method,
        status: String(status),
        count: 0,
        sum: 0,
        buckets: new Array(HTTP_BUCKETS.length + 1).fill(0),
      };
      this.#series.set(key, series);
    }
    series.count++;
    series.sum += seconds;
    let i = 0;
    while (i < HTTP_BUCKETS.length && seconds > HTTP_BUCKETS[i]!) i++;
    series.buckets[i]!++;
  }

  counter(): Snapshot {
    return {
      name: "http_requests_total",
      help: "HTTP requests by route pattern, method and status",
      type: "counter",
      aggregator: "sum",
      values: [...this.#series.values()].map((s) => ({
        value: s.count,
        labels: { route: s.route, method: s.method, status: s.status },
      })),
    };
  }

  histogram(): Snapshot {
    // The histogram is by route and method: merge the statuses.
    const merged = new Map<string, Series>();
    for (const s of this.#series.values()) {
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
    this.#series.clear();
  }
}

/** The metrics of one service instance. */
export class Metrics implements Disposable {
  /** The registry `/metrics` exposes. */
  readonly registry: Registry = new Registry();

  readonly #http = new RequestStats();
  readonly #httpInflight: Gauge;
  readonly #cacheLookups: Counter<"outcome">;
  readonly #upstreamRequests: Counter<"outcome">;
  readonly #upstreamRetries: Counter;
  readonly #upstreamDuration: Histogram<"outcome">;
  readonly #uploads: Counter<"outcome">;
  readonly #uploadBytes: Counter;
  readonly #uploadThroughput: Histogram;
  readonly #uploadSeconds: Counter<"phase">;
  readonly #uploadsByBound: Counter<"bound">;
  readonly #uploadQueueHighWater: Gauge;
  readonly #eventLoopTimer: number;
  #eventLoopDelay = 0;
  #queueHighWater = 0;

  constructor(options: MetricsOptions = {}) {
    const { sources = {}, eventLoopSampleMs = 500 } = options;
    if (!Number.isInteger(eventLoopSampleMs) || eventLoopSampleMs < 10) {
      throw new RangeError(
        `eventLoopSampleMs must be an integer >= 10, got ${eventLoopSampleMs}`,
      );
    }
    const registers = [this.registry];

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
    this.#httpInflight = new Gauge({
      name: "http_requests_in_flight",
      help: "HTTP requests being handled",
      registers,
    });

    this.#cacheLookups = new Counter({
      name: "cache_lookups_total",
      help:
        "Cache lookups by outcome: hit, miss, stale (while revalidating), stale_if_error, collapsed (joined a fetch in flight)",
      labelNames: ["outcome"],
      registers,
    });
    const store = sources.store;
    new Gauge({
      name: "cache_entries",
      help: "Entries in the cache store",
      registers,
      collect() {
        if (store) this.set(store().stats().entries);
      },
    });
    new Gauge({
      name: "cache_bytes",
      help: "Bytes held by the cache store",
      registers,
      collect() {
        if (store) this.set(store().stats().bytes);
      },
    });
    new Counter({
      name: "cache_evictions_total",
      help: "Entries evicted to stay within CACHE_MAX_BYTES",
      registers,
      collect() {
        if (!store) return;
        // prom-client counters only go up by inc(); reset + inc mirrors the
        // store's own monotonic count.
        this.reset();
        this.inc(store().stats().evictions);
      },
    });

    this.#upstreamRequests = new Counter({
      name: "upstream_requests_total",
      help:
        "Upstream attempts by outcome: ok, not_found, retry, error, timeout",
      labelNames: ["outcome"],
      registers,
    });
    this.#upstreamRetries = new Counter({
      name: "upstream_retries_total",
      help: "Upstream attempts that were retried",
      registers,
    });
    this.#upstreamDuration = new Histogram({
      name: "upstream_request_duration_seconds",
      help: "Duration of upstream attempts",
      labelNames: ["outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const openSlots = sources.upstreamOpenSlots;
    new Gauge({
      name: "upstream_open_slots",
      help:
        "Free upstream concurrency slots (UPSTREAM_CONCURRENCY minus in use)",
      registers,
      collect() {
        if (openSlots) this.set(openSlots());
      },
    });

    this.#uploads = new Counter({
      name: "uploads_total",
      help:
        "Uploads by outcome: created, too_large, aborted, incomplete, timeout, too_slow, digest_mismatch, no_space, unauthorized, busy, client_limit, stopped, unsupported, invalid_form, error",
      labelNames: ["outcome"],
      registers,
    });
    this.#uploadBytes = new Counter({
      name: "upload_bytes_total",
      help: "Bytes of committed uploads",
      registers,
    });
    this.#uploadThroughput = new Histogram({
      name: "upload_throughput_bytes_per_second",
      help: "Throughput of committed uploads",
      buckets: [1e4, 1e5, 1e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2e9],
      registers,
    });
    this.#uploadSeconds = new Counter({
      name: "upload_pipeline_seconds_total",
      help:
        "Where upload time went: reader_wait (body reads), reader_blocked (put on a full queue), writer_write (storage writes), writer_idle (get on an empty queue)",
      labelNames: ["phase"],
      registers,
    });
    this.#uploadsByBound = new Counter({
      name: "uploads_bound_total",
      help: "Committed uploads by what bounded them: read or write",
      labelNames: ["bound"],
      registers,
    });
    this.#uploadQueueHighWater = new Gauge({
      name: "upload_queue_high_water_bytes",
      help: "Most bytes ever queued between an upload's reader and writer",
      registers,
    });
    const uploadsActive = sources.uploadsActive;
    new Gauge({
      name: "uploads_in_flight",
      help: "Uploads being received",
      registers,
      collect() {
        if (uploadsActive) this.set(uploadsActive());
      },
    });
    const files = sources.files;
    new Gauge({
      name: "files_stored",
      help: "Stored files, as the in-memory index of GET /files counts them",
      registers,
      collect() {
        if (files) this.set(files().files);
      },
    });
    new Counter({
      name: "files_index_refreshes_total",
      help:
        "Index refreshes from DATA_DIR/files (at start, and when its mtime changed)",
      registers,
      collect() {
        if (!files) return;
        this.reset();
        this.inc(files().refreshes);
      },
    });
    new Counter({
      name: "files_dir_recreated_total",
      help:
        "Times DATA_DIR/files was found removed while running and made again",
      registers,
      collect() {
        if (!files) return;
        this.reset();
        this.inc(files().dirRecreated);
      },
    });

    if (sources.connections) {
      connectionMetrics(registers, sources.connections);
    }

    new Gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes",
      registers,
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
    const delay = () => this.#eventLoopDelay;
    new Gauge({
      name: "process_event_loop_delay_seconds",
      help: "How late the last event-loop probe timer fired",
      registers,
      collect() {
        this.set(delay());
      },
    });
    // A timer that should fire every N ms fires late by as long as the loop
    // was busy: that lateness is the event-loop delay.
    let expected = performance.now() + eventLoopSampleMs;
    // Typed as Node's Timeout once node: modules are loaded; a number in Deno.
    this.#eventLoopTimer = setInterval(() => {
      const now = performance.now();
      this.#eventLoopDelay = Math.max(0, now - expected) / 1000;
      expected = now + eventLoopSampleMs;
    }, eventLoopSampleMs) as unknown as number;
    Deno.unrefTimer(this.#eventLoopTimer);
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
    this.#httpInflight.inc(delta);
  }

  /** Records a cache lookup. */
  cache(outcome: string): void {
    this.#cacheLookups.inc({ outcome: outcome.replaceAll("-", "_") });
  }

  /** Records an upstream attempt. */
  upstream(attempt: UpstreamAttemptFigures): void {
    this.#upstreamRequests.inc({ outcome: attempt.outcome });
    this.#upstreamDuration.observe(
      { outcome: attempt.outcome },
      ms(attempt.durationMs),
    );
    if (attempt.outcome === "retry") this.#upstreamRetries.inc();
  }

  /** Records the end of an upload. */
  upload(outcome: string, figures?: UploadFigures): void {
    this.#uploads.inc({ outcome });
    if (!figures) return;
    this.#uploadBytes.inc(figures.size);
    this.#uploadThroughput.observe(figures.bytesPerSecond);
    this.#uploadSeconds.inc({ phase: "reader_wait" }, ms(figures.readerWaitMs));
    this.#uploadSeconds.inc(
      { phase: "reader_blocked" },
      ms(figures.readerBlockedMs),
    );
    this.#uploadSeconds.inc(
      { phase: "writer_write" },
      ms(figures.writerWriteMs),
    );
    this.#uploadSeconds.inc({ phase: "writer_idle" }, ms(figures.writerIdleMs));
    this.#uploadsByBound.inc({ bound: figures.bound });
    // A high-water mark only rises.
    if (figures.maxQueuedBytes > this.#queueHighWater) {
      this.#queueHighWater = figures.maxQueuedBytes;
      this.#uploadQueueHighWater.set(figures.maxQueuedBytes);
    }
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ body: string; contentType: string }> {
    return {
      body: await this.registry.metrics(),
      contentType: this.registry.contentType,
    };
  }

  /** Stops the event-loop probe. */
  close(): void {
    clearInterval(this.#eventLoopTimer);
  }

  /** Same as {@linkcode Metrics.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Connection gauges and counters, read from the server at scrape time. */
function connectionMetrics(
  registers: Registry[],
  read: () => ConnectionCounts,
): void {
  new Gauge({
    name: "http_connections_open",
    help: "Client connections open now",
    registers,
    collect() {
      this.set(read().open);
    },
  });
  new Counter({
    name: "http_connections_closed_total",
    help:
      "Connections closed by the server: header_timeout (no complete request head in HEADER_TIMEOUT_MS), idle_timeout (idle past KEEPALIVE_TIMEOUT_MS)",
    labelNames: ["reason"],
    registers,
    collect() {
      const counts = read();
      this.reset();
      this.inc({ reason: "header_timeout" }, counts.headerTimeouts);
      this.inc({ reason: "idle_timeout" }, counts.idleTimeouts);
    },
  });
  new Counter({
    name: "http_connections_rejected_total",
    help: "Connections turned away with 503 over MAX_CONNECTIONS",
    registers,
    collect() {
      this.reset();
      this.inc(read().rejected);
    },
  });
  new Counter({
    name: "http_accept_backoffs_total",
    help:
      "Times accepting a connection failed (out of file descriptors) and the server waited before trying again",
    registers,
    collect() {
      this.reset();
      this.inc(read().acceptBackoffs);
    },
  });
}
