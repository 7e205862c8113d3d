/**
 * Metrics of the upload pipeline: uploads by outcome, committed bytes and
 * throughput, where the time went (reader wait/blocked, writer
 * write/idle/hash wait), what bounded each upload, the queue's high-water
 * mark, the uploads in flight and the bytes of their buffers, and with
 * `REDIS_URL` the relay's messages and the other instances' uploads it
 * knows of.
 *
 * @module
 */

import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { scrapedGauge } from "../ops/metric_helpers.ts";
import type { RelayCount } from "./relay.ts";
import type { UploadResult } from "./upload_figures.ts";
import type { WatcherChange } from "./watchers.ts";

/** The figures of a committed upload that metrics record. */
export type UploadFigures = Pick<
  UploadResult,
  | "size"
  | "bytesPerSecond"
  | "readerWaitMs"
  | "readerBlockedMs"
  | "writerWriteMs"
  | "writerIdleMs"
  | "writerHashWaitMs"
  | "maxQueuedBytes"
  | "bound"
>;

/** Records how an upload ended, with its figures when it was committed. */
export type UploadRecorder = (outcome: string, figures?: UploadFigures) => void;

const PHASES = [
  ["reader_wait", "readerWaitMs"],
  ["reader_blocked", "readerBlockedMs"],
  ["writer_write", "writerWriteMs"],
  ["writer_idle", "writerIdleMs"],
  ["writer_hash_wait", "writerHashWaitMs"],
] as const;

/** What the upload gauges read at scrape time. */
export interface UploadGauges {
  /** Uploads running now. */
  active: () => number;
  /** Bytes of buffers the uploads in flight hold. */
  bufferBytes: () => number;
}

/**
 * Registers the `upload*` metrics on `registry`; returns the recorder of
 * finished uploads.
 */
export function uploadMetrics(
  registry: Registry,
  { active, bufferBytes }: UploadGauges,
): UploadRecorder {
  const registers = [registry];
  const uploads = new Counter({
    name: "uploads_total",
    help:
      "Uploads by outcome: created, too_large, aborted, incomplete, length_required, timeout, too_slow, digest_mismatch, no_space, unauthorized, busy, client_limit, stopped, unsupported, invalid_form, invalid_coding, invalid_id, invalid_digest, invalid_length, conflict, error",
    labelNames: ["outcome"],
    registers,
  });
  const committed = committedMetrics(registry);
  scrapedGauge(registry, {
    name: "uploads_in_flight",
    help: "Uploads being received",
  }, active);
  scrapedGauge(registry, {
    name: "upload_buffer_bytes",
    help:
      "Bytes of the buffers the uploads in flight read their bodies into (being filled, queued, written, hashed or free for reuse)",
  }, bufferBytes);
  return (outcome, figures) => {
    uploads.inc({ outcome });
    if (figures) committed(figures);
  };
}

/** The metrics of committed uploads; returns their recorder. */
function committedMetrics(
  registry: Registry,
): (figures: UploadFigures) => void {
  const registers = [registry];
  const bytes = new Counter({
    name: "upload_bytes_total",
    help: "Bytes of committed uploads",
    registers,
  });
  const throughput = new Histogram({
    name: "upload_throughput_bytes_per_second",
    help: "Throughput of committed uploads",
    buckets: [1e4, 1e5, 1e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2e9],
    registers,
  });
  const seconds = new Counter({
    name: "upload_pipeline_seconds_total",
    help:
      "Where upload time went: reader_wait (body reads), reader_blocked (put on a full queue), writer_write (storage writes), writer_idle (get on an empty queue), writer_hash_wait (waiting for the SHA-256 to catch up)",
    labelNames: ["phase"],
    registers,
  });
  const byBound = new Counter({
    name: "uploads_bound_total",
    help: "Committed uploads by what bounded them: read, write or hash",
    labelNames: ["bound"],
    registers,
  });
  const highWater = new Gauge({
    name: "upload_queue_high_water_bytes",
    help: "Most bytes ever queued between an upload's reader and writer",
    registers,
    aggregator: "max",
  });
  let highest = 0;
  return (figures) => {
    bytes.inc(figures.size);
    throughput.observe(figures.bytesPerSecond);
    for (const [phase, key] of PHASES) {
      seconds.inc({ phase }, figures[key] / 1000);
    }
    byBound.inc({ bound: figures.bound });
    // A high-water mark only rises.
    if (figures.maxQueuedBytes > highest) {
      highest = figures.maxQueuedBytes;
      highWater.set(highest);
    }
  };
}

/**
 * Registers the `upload_watchers*` metrics (subscribers of
 * `GET /uploads/events`) on `registry`; returns the observer of their
 * changes. `count` is read at scrape time.
 */
export function watcherMetrics(
  registry: Registry,
  count: () => number,
): (change: WatcherChange) => void {
  scrapedGauge(registry, {
    name: "upload_watchers",
    help: "Subscribers of the upload events now",
  }, count);
  const ends = new Counter({
    name: "upload_watchers_ended_total",
    help:
      "Upload event subscriptions by how they ended or were refused: closed (by the service), slow (queue full, dropped), disconnected (by the client), refused (past MAX_UPLOAD_WATCHERS or MAX_UPLOAD_WATCHERS_PER_CLIENT, or shutting down)",
    labelNames: ["reason"],
    registers: [registry],
  });
  for (const reason of ["closed", "slow", "disconnected", "refused"]) {
    ends.inc({ reason }, 0);
  }
  return (change) => {
    if (change !== "opened") ends.inc({ reason: change });
  };
}

/**
 * Registers the `upload_relay*` metrics (REDIS_URL: upload events between
 * instances) on `registry`; returns the counter of relay messages. `remote`
 * (the other instances' uploads known) is read at scrape time.
 */
export function relayMetrics(
  registry: Registry,
  remote: () => number,
): (count: RelayCount) => void {
  scrapedGauge(registry, {
    name: "upload_relay_remote_uploads",
    help: "Uploads in flight in other instances, as heard over Redis",
    // The workers of --parallel are instances to each other, so a sum
    // would count an upload once per worker that heard it.
    aggregator: "max",
  }, remote);
  const messages = new Counter({
    name: "upload_relay_messages_total",
    help:
      "Upload event messages over Redis: sent, skipped (Redis down, slow or with 4 unanswered; not sent), failed (sent, not acknowledged in time), received (from other instances)",
    labelNames: ["result"],
    registers: [registry],
  });
  for (const result of ["sent", "skipped", "failed", "received"]) {
    messages.inc({ result }, 0);
  }
  return (result) => messages.inc({ result });
}
