/**
 * The upload pipeline: a reader task and a writer task joined by a
 * {@linkcode BoundedQueue}, then the sink's commit.
 *
 * ```
 * body --read into free-list buffers/limit--> queue (capacity in bytes)
 *      --write--> sink (storage upload) --commit--> stored file
 *      written buffers --SHA-256 (a worker thread in the app)--> free list
 * ```
 *
 * The queue's byte capacity is the one thing that makes the reader wait
 * for the writer; buffers come from a free list that never waits. Each
 * side measures where its time goes (body reads, blocked on a full queue,
 * sink writes, idle on an empty queue, waiting on the hash) so every upload
 * reports whether it was read-, write- or hash-bound. On any failure both tasks stop at once,
 * the body is cancelled and the sink is aborted: nothing partial is kept.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { LogFields, Logger } from "../ops/logger.ts";
import { BoundedQueue } from "./bounded_queue.ts";
import { type BufferAccount, FreeList } from "./buffers.ts";
import {
  DigestMismatchError,
  isNoSpace,
  NoSpaceError,
  UploadTooLargeError,
} from "./errors.ts";
import {
  type ContentHash,
  type HashFactory,
  inlineHash,
} from "./content_hash.ts";
import { intoReader } from "../http/into_reader.ts";
import { RateFloor } from "./rate.ts";
import { type BodyProgress, MAX_TIMEOUT_MS, ReaderTask } from "./reader.ts";
import type { StoredFile, UploadSink } from "./sink.ts";
import { StopDeadline } from "./stop_deadline.ts";
import {
  type LiveFigures,
  liveFigures,
  type MeasuredTasks,
  resultOf,
  round3,
  type UploadResult,
} from "./upload_figures.ts";
import { WriterTask } from "./writer.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Default capacity of the reader->writer queue: 8 MiB. */
export const DEFAULT_QUEUE_BYTES = 8 * 1024 * 1024;
/** Default size of the buffers the body is read into (and written from): 1 MiB. */
export const DEFAULT_WRITE_BYTES = 1024 * 1024;
/** Default longest wait for the next body chunk: 30 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

const SHA256_BYTES = 32;

/** Options of {@linkcode receiveUpload}. */
export interface ReceiveUploadOptions {
  /**
   * Opens the upload's sink (e.g. `() => storage.begin()`); called once the
   * options are checked, and aborted on any failure.
   */
  begin: () => Promise<UploadSink>;
  /** Largest accepted body; crossing it fails at once. */
  maxBytes: number;
  /**
   * Capacity of the reader->writer queue: the reader waits while the
   * queued bytes would exceed it. @default {8388608}
   */
  queueBytes?: number;
  /**
   * Size of the buffers the body is read into, so the most bytes per sink
   * write (a buffer is written as soon as it is full, or earlier when the
   * writer is idle). @default {1048576}
   */
  writeBytes?: number;
  /** Longest wait for the next body chunk. @default {30000} */
  idleTimeoutMs?: number;
  /**
   * Lowest average body rate, counted over the time spent waiting for the
   * body once `rateGraceMs` of it passed; below it the upload fails with
   * `UploadTooSlowError`. 0 disables it. @default {1024}
   */
  minBytesPerSecond?: number;
  /** How long the body may wait before the rate floor applies. @default {10000} */
  rateGraceMs?: number;
  /** For a form's file part: the whole body's, which the limits count. */
  bodyProgress?: BodyProgress;
  /** The declared length (Content-Length); the body must match it exactly. */
  expectedLength?: number;
  /** The declared SHA-256 (Content-Digest / Repr-Digest), verified before commit. */
  expectedSha256?: Uint8Array;
  /**
   * Where the content's SHA-256 is computed: the app passes its hash
   * worker's (`hashing.ts`). @default {inlineHash}
   */
  hash?: HashFactory;
  /**
   * Names the file at commit time (a form's file part is described only
   * once it began); the fields go into the metadata.
   */
  describe?: () => Pick<StoredFile, "filename" | "contentType">;
  /**
   * Called once the tasks start, with a function that reads their figures
   * so far (the live progress calls it a few times a second; nothing is
   * done per chunk for it).
   */
  observe?: (figures: () => LiveFigures) => void;
  /**
   * Where the upload's buffers are counted while it runs (the app's, for
   * the `upload_buffer_bytes` gauge).
   */
  bufferAccount?: BufferAccount;
  /** Aborting it fails the upload with `signal.reason`. */
  signal?: AbortSignal;
  /** Receives the `upload.trace` debug records. */
  logger?: Logger;
  /**
   * Fields the upload's log lines carry besides its id (the request's
   * id: a failed cleanup's leftover is then tied to the request).
   */
  logFields?: LogFields;
}

/** The options with their defaults, checked; throws RangeError/TypeError. */
function settingsOf(
  body: ReadableStream<Uint8Array>,
  options: ReceiveUploadOptions,
) {
  const {
    queueBytes = DEFAULT_QUEUE_BYTES,
    writeBytes = DEFAULT_WRITE_BYTES,
    idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
    minBytesPerSecond,
    rateGraceMs,
    expectedLength,
    expectedSha256,
  } = options;
  if (!(body instanceof ReadableStream)) {
    throw new TypeError("body must be a ReadableStream");
  }
  if (typeof options.begin !== "function") {
    throw new TypeError("begin must be a function");
  }
  checkWholeNumbers({ maxBytes: options.maxBytes }, { min: 0 });
  checkWholeNumbers({ queueBytes, writeBytes });
  checkWholeNumbers({ idleTimeoutMs }, { max: MAX_TIMEOUT_MS });
  const floor = new RateFloor({
    ...(minBytesPerSecond === undefined ? {} : { minBytesPerSecond }),
    ...(rateGraceMs === undefined ? {} : { graceMs: rateGraceMs }),
  });
  if (expectedLength !== undefined) {
    checkWholeNumbers({ expectedLength }, { min: 0 });
  }
  if (expectedSha256 !== undefined) {
    if (!(expectedSha256 instanceof Uint8Array)) {
      throw new TypeError("expectedSha256 must be a Uint8Array");
    }
    if (expectedSha256.byteLength !== SHA256_BYTES) {
      throw new RangeError(`expectedSha256 must be ${SHA256_BYTES} bytes`);
    }
  }
  // Two buffers at least, so the reader fills one while the writer writes
  // the other.
  const bufferBytes = Math.min(
    writeBytes,
    Math.max(1, Math.floor(queueBytes / 2)),
  );
  return { ...options, queueBytes, idleTimeoutMs, floor, bufferBytes };
}

type Settings = ReturnType<typeof settingsOf>;

/** Both tasks of one upload and the queue between them. */
interface Tasks extends MeasuredTasks {
  hash: ContentHash;
  buffers: FreeList;
  trace: ((fields: LogFields) => void) | undefined;
}

/**
 * Runs the reader and the writer until both are done, or until the first
 * failure stops both (it goes to `fail`); resolves with the content's
 * SHA-256, or `undefined` after a failure.
 */
async function transfer(
  tasks: Tasks,
  fail: (error: unknown) => void,
): Promise<Uint8Array | undefined> {
  let ok = true;
  const failed = (error: unknown) => {
    ok = false;
    fail(error);
  };
  await Promise.all([
    tasks.reader.run().catch(failed),
    tasks.writer.run().catch(failed),
  ]);
  if (!ok) return undefined;
  return await tasks.hash.digest();
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** Throws `DigestMismatchError` unless `digest` is `expected` (when given). */
function checkDigest(digest: Uint8Array, expected: Uint8Array | undefined) {
  if (expected !== undefined && hex(digest) !== hex(expected)) {
    throw new DigestMismatchError(hex(expected), hex(digest));
  }
}

/** The reader, the writer and the queue between them for one upload. */
function startTasks(
  settings: Settings,
  sink: UploadSink,
  failure: { fail: (error: unknown) => void; signal: AbortSignal },
  body: ReturnType<typeof intoReader>,
): Tasks {
  const { signal, fail } = failure;
  const logger = settings.logger;
  // Building trace records costs allocations per chunk; skip it entirely
  // unless debug is on (the optional call skips evaluating its argument).
  const trace = logger?.enabled("debug")
    ? (fields: LogFields) =>
      logger.debug("upload.trace", {
        ...settings.logFields,
        id: sink.id,
        ...fields,
      })
    : undefined;
  const buffers = new FreeList({ account: settings.bufferAccount });
  // A failure's dropped buffers go back, so its clear() frees them too.
  const queue = new BoundedQueue({
    capacityBytes: settings.queueBytes,
    signal,
    dropped: (chunk) => buffers.give(chunk.buffer as ArrayBuffer),
  });
  const hash = (settings.hash ?? inlineHash)((buffer) => buffers.give(buffer));
  const writer = new WriterTask({ queue, sink, hash, signal, trace });
  const reader = new ReaderTask({
    body,
    queue,
    buffers,
    limits: settings,
    bufferBytes: settings.bufferBytes,
    writerIdle: () => writer.idle,
    fail,
    signal,
    trace,
  });
  return { reader, writer, queue, hash, buffers, trace };
}

/** Commits `sink` with what the tasks found out about the content. */
async function commit(
  sink: UploadSink,
  tasks: Tasks,
  digest: Uint8Array,
  describe: Settings["describe"],
): Promise<StoredFile> {
  const t0 = performance.now();
  const stored = await sink.commit({
    size: tasks.reader.size,
    sha256: Buffer.from(digest).toString("hex"),
    ...describe?.(),
  });
  tasks.trace?.({
    task: "commit",
    op: "commit",
    ms: round3(performance.now() - t0),
  });
  return stored;
}

/**
 * Aborts `sink`, or the one being opened once it comes (the stop's
 * deadline may pass first); a failure is logged.
 */
function abortSink(
  sink: UploadSink | Promise<UploadSink> | undefined,
  { logger, logFields }: Pick<Settings, "logger" | "logFields">,
): Promise<void> {
  return Promise.resolve(sink).then((opened) =>
    opened?.abort().catch((error) =>
      logger?.warn("upload.cleanup_failed", {
        ...logFields,
        id: opened.id,
        error,
      })
    )
  );
}

/**
 * The pipeline's `fail`: the first failure aborts `failed`, and the body
 * is cancelled at once, which settles a pending read with done so the
 * reader task notices (only the cancel settles a read that a stalled
 * client never answers). A request's body lets the runtime's go only
 * LINGER_MS after the answer (upload_body.ts wraps it in answered_body.ts
 * `cancelledOnceAnswered`): the runtime's cancelled at once, a body behind
 * with tiny frames (services/http/frame_floor.ts) kept the main thread
 * busy for minutes, and any other was read to its end or closed with the
 * answer.
 */
function failureOf(
  failed: AbortController,
  reader: ReturnType<typeof intoReader>,
): (error: unknown) => void {
  return (error) => {
    if (failed.signal.aborted) return;
    failed.abort(isNoSpace(error) ? new NoSpaceError({ cause: error }) : error);
    reader.cancel(failed.signal.reason).catch(() => {});
  };
}

/**
 * Streams `body` through the bounded queue into the sink that `begin`
 * opens, and commits it once the body is complete and verified.
 *
 * Rejects with an `UploadError` subclass for the expected failures, with
 * `signal.reason` when `signal` aborts, or with the body's or the sink's
 * own error; in every case the body is cancelled and the sink aborted.
 * Throws `RangeError`/`TypeError` on bad options without touching the
 * body.
 *
 * @example Usage
 * ```ts ignore
 * const result = await receiveUpload(req.body!, {
 *   begin: () => storage.begin(),
 *   maxBytes: 1 << 30,
 *   signal: req.signal,
 * });
 * ```
 */
export async function receiveUpload(
  body: ReadableStream<Uint8Array>,
  options: ReceiveUploadOptions,
): Promise<UploadResult> {
  const settings = settingsOf(body, options);
  const { signal, maxBytes, expectedLength } = settings;
  const started = performance.now();
  const reader = intoReader(body);
  let tasksOf: Tasks | undefined;
  // The first failure wins; aborting `failed` stops both tasks at once.
  const failed = new AbortController();
  const fail = failureOf(failed, reader);
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  // Once stopped, the storage is waited for only so long (see the module).
  const deadline = new StopDeadline(signal);
  let opening: Promise<UploadSink> | undefined;
  let sink: UploadSink | undefined;
  try {
    signal?.throwIfAborted();
    if (expectedLength !== undefined && expectedLength > maxBytes) {
      throw new UploadTooLargeError(maxBytes);
    }
    opening = settings.begin();
    sink = await deadline.race(opening);
    failed.signal.throwIfAborted();
    const failure = { fail, signal: failed.signal };
    const tasks = startTasks(settings, sink, failure, reader);
    tasksOf = tasks;
    settings.observe?.(() => liveFigures(tasks));
    const digest = await deadline.race(transfer(tasks, fail));
    // Every buffer is back: their memory goes now, not at some later GC.
    tasks.buffers.close();
    failed.signal.throwIfAborted();
    if (!digest) {
      throw new Error("unreachable: transfer ended without a digest");
    }
    checkDigest(digest, settings.expectedSha256);
    // Past this point the upload is complete; the commit is not cancelled.
    signal?.removeEventListener("abort", onAbort);
    deadline.clear();
    const stored = await commit(sink, tasks, digest, settings.describe);
    return resultOf(stored, digest, tasks, started);
  } catch (error) {
    fail(error);
    tasksOf?.hash.abandon();
    tasksOf?.buffers.close();
    signal?.removeEventListener("abort", onAbort);
    // The upload's error is what the caller needs; a leftover is logged
    // and swept on the next start.
    await deadline.race(abortSink(sink ?? opening, settings)).catch(() => {});
    deadline.clear();
    throw failed.signal.reason;
  }
}
