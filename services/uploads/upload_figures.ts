/**
 * What an upload reports about itself: its live figures while it runs, the
 * result of a committed upload (where the reader's and the writer's time
 * went) and which side bounded it, read from the tasks' own counters.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { BoundedQueue } from "./bounded_queue.ts";
import type { ReaderTask } from "./reader.ts";
import type { StoredFile } from "./sink.ts";
import type { WriterTask } from "./writer.ts";

/** The tasks of one upload whose counters the figures are read from. */
export interface MeasuredTasks {
  reader: ReaderTask;
  writer: WriterTask;
  queue: BoundedQueue;
}

/**
 * The figures of an upload in progress, as `ReceiveUploadOptions.observe`
 * (`pipeline.ts`) reads them.
 */
export interface LiveFigures {
  /** Bytes of the file received so far. */
  size: number;
  /**
   * Bytes of the request body received so far: `size`, or a form's whole
   * body, its fields and framing included (what the live rate counts).
   * @default {size}
   */
  bodyBytes?: number;
  /** As in {@linkcode UploadResult}, so far (counting the wait under way). */
  readerWaitMs: number;
  readerBlockedMs: number;
  writerWriteMs: number;
  writerIdleMs: number;
  writerHashWaitMs: number;
  /** Bytes in the queue now. */
  queuedBytes: number;
  /** The queue's capacity. */
  queueCapacityBytes: number;
  /** High-water mark of queued bytes so far. */
  maxQueuedBytes: number;
}

/**
 * What limited an upload's throughput: the body (`read`), the storage
 * writes (`write`) or the SHA-256 keeping up (`hash`).
 */
export type UploadBound = "read" | "write" | "hash";

/** The outcome of a committed upload. */
export interface UploadResult extends StoredFile {
  /** SHA-256 of the content, base64 (the Content-Digest form). */
  sha256Base64: string;
  /** From the call to the end of the commit. */
  durationMs: number;
  /** `size` over `durationMs`. */
  bytesPerSecond: number;
  /** Reader time in body reads (waiting on the network). */
  readerWaitMs: number;
  /** Reader time in `put` on a full queue (waiting for the writer). */
  readerBlockedMs: number;
  /** Writer time in sink writes (the disk). */
  writerWriteMs: number;
  /** Writer time in `get` on an empty queue (waiting for the reader). */
  writerIdleMs: number;
  /** Writer time waiting for the hash to have room (the hash lagging). */
  writerHashWaitMs: number;
  /** High-water mark of queued bytes. */
  maxQueuedBytes: number;
  /** See {@linkcode classifyBound}. */
  bound: UploadBound;
}

/** The times {@linkcode classifyBound} decides from. */
export interface BoundTimes {
  readerBlockedMs: number;
  writerIdleMs: number;
  writerWriteMs: number;
  writerHashWaitMs: number;
}

/**
 * Which side limited an upload. In a two-stage pipeline the slower stage
 * never waits on the other; the faster one does. The reader blocked on a
 * full queue is waiting for the writer; the writer idle on an empty queue
 * is waiting for the reader (network, including the first chunk). So the
 * upload is bound by the writer's side when the reader was blocked longer
 * than the writer was idle, and read-bound otherwise (ties, e.g. tiny
 * uploads, count as read-bound: the network is the usual suspect). The
 * writer's side is two waits: its storage writes, and the hash worker
 * catching up (`room()`), so it is `hash` when the writer waited longer on
 * the hash than it wrote, else `write`.
 */
export function classifyBound(times: BoundTimes): UploadBound {
  if (times.readerBlockedMs <= times.writerIdleMs) return "read";
  return times.writerHashWaitMs > times.writerWriteMs ? "hash" : "write";
}

/** Milliseconds rounded to the microsecond, as the figures report them. */
export const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The figures of running tasks, read now. */
export function liveFigures(
  { reader, writer, queue }: MeasuredTasks,
): LiveFigures {
  const now = performance.now();
  const { waitMs, blockedMs } = reader.timesAt(now);
  const { writeMs, idleMs, hashWaitMs } = writer.timesAt(now);
  return {
    size: reader.size,
    bodyBytes: reader.bodyBytes,
    readerWaitMs: round3(waitMs),
    readerBlockedMs: round3(blockedMs),
    writerWriteMs: round3(writeMs),
    writerIdleMs: round3(idleMs),
    writerHashWaitMs: round3(hashWaitMs),
    queuedBytes: queue.size,
    queueCapacityBytes: queue.capacityBytes,
    maxQueuedBytes: queue.maxBytes,
  };
}

/** The result of a committed upload, from its tasks' figures. */
export function resultOf(
  stored: StoredFile,
  digest: Uint8Array,
  tasks: MeasuredTasks,
  started: number,
): UploadResult {
  const { reader, writer, queue } = tasks;
  const durationMs = performance.now() - started;
  return {
    ...stored,
    sha256Base64: Buffer.from(digest).toString("base64"),
    durationMs: round3(durationMs),
    bytesPerSecond: Math.round(
      stored.size / (Math.max(durationMs, 0.001) / 1000),
    ),
    readerWaitMs: round3(reader.waitMs),
    readerBlockedMs: round3(reader.blockedMs),
    writerWriteMs: round3(writer.writeMs),
    writerIdleMs: round3(writer.idleMs),
    writerHashWaitMs: round3(writer.hashWaitMs),
    maxQueuedBytes: queue.maxBytes,
    bound: classifyBound({
      readerBlockedMs: reader.blockedMs,
      writerIdleMs: writer.idleMs,
      writerWriteMs: writer.writeMs,
      writerHashWaitMs: writer.hashWaitMs,
    }),
  };
}
