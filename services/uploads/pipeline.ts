/**
 * The upload pipeline: a reader task and a writer task joined by a
 * {@linkcode BoundedQueue}, then a commit that makes the file durable.
 *
 * ```
 * body --BYOB read into pool buffers/limit/hash--> queue (bytes) --write--> <id>.part
 *      --fsync, sidecar, rename, fsync(dir)--> <id> + <id>.json
 * ```
 *
 * Each side measures where its time goes (waiting on the network, blocked
 * on a full queue, writing, idle on an empty queue) so every upload reports
 * whether it was read-bound or write-bound. On any failure both tasks stop
 * at once, the body is cancelled and the `.part` file is removed: a file
 * named `<id>` is always complete and verified.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { BoundedQueue } from "./bounded_queue.ts";
import { BufferPool } from "./buffer_pool.ts";
import type { LogFields, Logger } from "../ops/logger.ts";
import { RateFloor } from "./rate.ts";
// TODO(R2): the pipeline still writes the stored-file format itself; once it
// writes through the storage interface (begin/write/commit/abort), storage
// owns ids and sidecars and this capability-crossing import goes.
import { type FileMetadata, newId } from "../storage/metadata.ts";

/** Default capacity of the reader->writer queue: 8 MiB. */
export const DEFAULT_QUEUE_BYTES = 8 * 1024 * 1024;
/** Default size of the buffers the body is read into (and written from): 1 MiB. */
export const DEFAULT_WRITE_BYTES = 1024 * 1024;
/** Default longest wait for the next body chunk: 30 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

// See `startBytes` and `minReadBytes` in receiveUpload.
const START_BUFFER_BYTES = 64 * 1024;
// An upload moves to full-size buffers once a MiB of its body arrives
// within 32 ms of waiting for the network (at 32 MiB/s or more).
const FAST_WINDOW_BYTES = 1024 * 1024;
const FAST_WINDOW_MS = 32;
const MIN_READ_BYTES = 16 * 1024;
// setTimeout fires at once for delays above a signed 32-bit int.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const SHA256_BYTES = 32;

/** Where the writer task's bytes go; by default the open `.part` file. */
export interface UploadSink {
  /**
   * Writes some of `p`, resolving with how many bytes were written. `p` is
   * only valid until then: its buffer is refilled with later bytes.
   */
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode receiveUpload}. */
export interface ReceiveUploadOptions {
  /** Folder of the stored files; the `.part` file is made here too. */
  dir: string;
  /** Largest accepted body; crossing it fails at once. */
  maxBytes: number;
  /** Capacity of the reader->writer queue. @default {8388608} */
  queueBytes?: number;
  /**
   * Size of the buffers the body is read into, so the most bytes per disk
   * write (a buffer is written as soon as it is full, or earlier when the
   * writer is idle). @default {1048576}
   */
  writeBytes?: number;
  /** Longest wait for the next body chunk. @default {30000} */
  idleTimeoutMs?: number;
  /**
   * Lowest average body rate, counted over the time spent waiting for the
   * body once `rateGraceMs` of it passed; below it the upload fails with
   * {@linkcode UploadTooSlowError}. 0 disables it. @default {1024}
   */
  minBytesPerSecond?: number;
  /** How long the body may wait before the rate floor applies. @default {10000} */
  rateGraceMs?: number;
  /** The declared length (Content-Length); the body must match it exactly. */
  expectedLength?: number;
  /** The declared SHA-256 (Content-Digest / Repr-Digest), verified before commit. */
  expectedSha256?: Uint8Array;
  /**
   * Names the file at commit time (a form's file part is described only
   * once it began); the fields go into the metadata.
   */
  describe?: () => Pick<FileMetadata, "filename" | "contentType">;
  /** Aborting it fails the upload with `signal.reason`. */
  signal?: AbortSignal;
  /** Receives the `upload.trace` debug records. */
  logger?: Logger;
  /** Test hook: wraps or replaces the writer's file (e.g. a slow disk). */
  sink?: (file: Deno.FsFile) => UploadSink;
}

/** Which side limited an upload's throughput. */
export type UploadBound = "read" | "write";

/** The outcome of a committed upload. */
export interface UploadResult extends FileMetadata {
  /** SHA-256 of the content, base64 (the Content-Digest form). */
  sha256Base64: string;
  /** From the call to the end of the commit. */
  durationMs: number;
  /** `size` over `durationMs`. */
  bytesPerSecond: number;
  /** Reader time awaiting the next body chunk (network). */
  readerWaitMs: number;
  /** Reader time blocked on a full queue (waiting for the writer). */
  readerBlockedMs: number;
  /** Writer time inside writes (disk). */
  writerWriteMs: number;
  /** Writer time waiting on an empty queue (waiting for the reader). */
  writerIdleMs: number;
  /** High-water mark of queued bytes. */
  maxQueuedBytes: number;
  /** See {@linkcode classifyBound}. */
  bound: UploadBound;
}

/** Base class of the expected upload failures. */
export class UploadError extends Error {
  /** Creates an upload error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UploadError";
  }
}

/** The body crossed `maxBytes` (or declared a length above it). */
export class UploadTooLargeError extends UploadError {
  /** The limit that was crossed. */
  readonly maxBytes: number;
  /** Creates the error for a limit of `maxBytes`. */
  constructor(maxBytes: number) {
    super(`Upload exceeds the limit of ${maxBytes} bytes`);
    this.name = "UploadTooLargeError";
    this.maxBytes = maxBytes;
  }
}

/** No body chunk arrived for `idleTimeoutMs`. */
export class UploadIdleTimeoutError extends UploadError {
  /** The timeout that ran out. */
  readonly idleTimeoutMs: number;
  /** Creates the error for a timeout of `idleTimeoutMs`. */
  constructor(idleTimeoutMs: number) {
    super(`No upload data received for ${idleTimeoutMs} ms`);
    this.name = "UploadIdleTimeoutError";
    this.idleTimeoutMs = idleTimeoutMs;
  }
}

/**
 * The body's average rate fell below the floor once the grace window had
 * passed (see {@linkcode ReceiveUploadOptions.minBytesPerSecond}).
 */
export class UploadTooSlowError extends UploadError {
  /** The floor, in bytes per second. */
  readonly minBytesPerSecond: number;
  /** The average rate the body had, in bytes per second. */
  readonly bytesPerSecond: number;
  /** Creates the error. */
  constructor(minBytesPerSecond: number, bytesPerSecond: number) {
    super(
      `Upload averaged ${bytesPerSecond} bytes/s, below the floor of ${minBytesPerSecond} bytes/s`,
    );
    this.name = "UploadTooSlowError";
    this.minBytesPerSecond = minBytesPerSecond;
    this.bytesPerSecond = bytesPerSecond;
  }
}

/**
 * The body length differs from the declared one: it ended short, or went
 * past it (`received > expected`).
 */
export class UploadIncompleteError extends UploadError {
  /** The declared length. */
  readonly expected: number;
  /** Bytes received when the mismatch was found. */
  readonly received: number;
  /** Creates the error. */
  constructor(expected: number, received: number) {
    super(
      received < expected
        ? `Upload ended after ${received} of ${expected} declared bytes`
        : `Upload is longer than the ${expected} declared bytes`,
    );
    this.name = "UploadIncompleteError";
    this.expected = expected;
    this.received = received;
  }
}

/** The content's SHA-256 differs from the declared one. */
export class DigestMismatchError extends UploadError {
  /** Declared SHA-256, hex. */
  readonly expected: string;
  /** Actual SHA-256, hex. */
  readonly actual: string;
  /** Creates the error. */
  constructor(expected: string, actual: string) {
    super(`SHA-256 mismatch: declared ${expected}, received ${actual}`);
    this.name = "DigestMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** The disk (or quota) is full. */
export class NoSpaceError extends UploadError {
  /** Creates the error; `cause` is the OS error. */
  constructor(options?: ErrorOptions) {
    super("No space left to store the upload", options);
    this.name = "NoSpaceError";
  }
}

/**
 * Which side limited an upload. In a two-stage pipeline the slower stage
 * never waits on the other; the faster one does. The reader blocked on a
 * full queue is waiting for the writer (disk); the writer idle on an empty
 * queue is waiting for the reader (network, including the first chunk). So
 * the upload is write-bound when the reader was blocked longer than the
 * writer was idle, and read-bound otherwise (ties, e.g. tiny uploads, count
 * as read-bound: the network is the usual suspect).
 */
export function classifyBound(
  times: { readerBlockedMs: number; writerIdleMs: number },
): UploadBound {
  return times.readerBlockedMs > times.writerIdleMs ? "write" : "read";
}

/** Whether `error` is the OS reporting a full disk or quota. */
export function isNoSpace(error: unknown): boolean {
  // Deno has no Deno.errors class for ENOSPC: it throws a plain Error whose
  // `code` is the errno name ("No space left on device (os error 28)").
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && (code === "ENOSPC" || code === "EDQUOT");
}

function positiveInt(name: string, value: number, max = Infinity): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in [1, ${max}]`);
  }
}

function nonNegativeInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer`);
  }
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function writeAll(sink: UploadSink, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    const n = await sink.write(data.subarray(written));
    if (n <= 0) throw new Deno.errors.WriteZero("Write returned 0 bytes");
    written += n;
  }
}

/** Reads a body into views the caller provides; see {@linkcode intoReader}. */
interface IntoReader {
  /**
   * Fills the start of `view` with at least one byte, or resolves done.
   * `value` is a view of the filled bytes, on the buffer that `view`'s
   * buffer was transferred to (or on that same buffer); it is absent once
   * the read was cancelled.
   */
  read(view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Cancels the body. */
  cancel(reason: unknown): Promise<void>;
}

/**
 * A reader that fills caller-provided views. A byte stream (such as a
 * request body) gets a BYOB reader: the bytes land in the view with no
 * copy and no allocation. Any other stream's chunks are copied in, with
 * the rest of a chunk kept for the next read.
 */
function intoReader(body: ReadableStream<Uint8Array>): IntoReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch (error) {
    // Only byte streams support BYOB; anything else is read chunk by chunk.
    if (!(error instanceof TypeError)) throw error;
  }
  if (byob) {
    return {
      read: (view) => byob.read(view),
      cancel: (reason) => byob.cancel(reason),
    };
  }
  const reader = body.getReader();
  let rest: Uint8Array | undefined;
  return {
    async read(view) {
      while (rest === undefined) {
        const result = await reader.read();
        if (result.done) return { done: true, value: view.subarray(0, 0) };
        if (!(result.value instanceof Uint8Array)) {
          throw new TypeError("Upload body chunks must be Uint8Arrays");
        }
        if (result.value.byteLength > 0) rest = result.value;
      }
      const n = Math.min(rest.byteLength, view.byteLength);
      view.set(n === rest.byteLength ? rest : rest.subarray(0, n));
      rest = n === rest.byteLength ? undefined : rest.subarray(n);
      return { done: false, value: view.subarray(0, n) };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir);
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Streams `body` into `dir/<id>` through the bounded queue and commits it
 * durably: fsync of the data, a `<id>.json` metadata sidecar (written to a
 * `.part` name, fsynced, renamed), the rename of `<id>.part` to `<id>`, and
 * an fsync of the folder.
 *
 * Rejects with an {@linkcode UploadError} subclass for the expected
 * failures, with `signal.reason` when `signal` aborts, or with the body's
 * own error; in every case the body is cancelled and nothing is left on
 * disk. Throws `RangeError`/`TypeError` on bad options without touching
 * the body.
 *
 * @example Usage
 * ```ts
 * const result = await receiveUpload(req.body!, {
 *   dir: "./data/files",
 *   maxBytes: 1 << 30,
 *   signal: req.signal,
 * });
 * ```
 */
export async function receiveUpload(
  body: ReadableStream<Uint8Array>,
  options: ReceiveUploadOptions,
): Promise<UploadResult> {
  const {
    dir,
    maxBytes,
    queueBytes = DEFAULT_QUEUE_BYTES,
    writeBytes = DEFAULT_WRITE_BYTES,
    idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
    minBytesPerSecond,
    rateGraceMs,
    expectedLength,
    expectedSha256,
    describe,
    signal,
    logger,
    sink,
  } = options;
  if (!(body instanceof ReadableStream)) {
    throw new TypeError("body must be a ReadableStream");
  }
  if (typeof dir !== "string" || dir === "") {
    throw new TypeError("dir must be a non-empty string");
  }
  nonNegativeInt("maxBytes", maxBytes);
  positiveInt("queueBytes", queueBytes);
  positiveInt("writeBytes", writeBytes);
  positiveInt("idleTimeoutMs", idleTimeoutMs, MAX_TIMEOUT_MS);
  const floor = new RateFloor({
    ...(minBytesPerSecond === undefined ? {} : { minBytesPerSecond }),
    ...(rateGraceMs === undefined ? {} : { graceMs: rateGraceMs }),
  });
  if (expectedLength !== undefined) {
    nonNegativeInt("expectedLength", expectedLength);
  }
  if (expectedSha256 !== undefined) {
    if (!(expectedSha256 instanceof Uint8Array)) {
      throw new TypeError("expectedSha256 must be a Uint8Array");
    }
    if (expectedSha256.byteLength !== SHA256_BYTES) {
      throw new RangeError(`expectedSha256 must be ${SHA256_BYTES} bytes`);
    }
  }

  const started = performance.now();
  const id = newId();
  const partPath = join(dir, `${id}.part`);
  const metaPartPath = join(dir, `${id}.json.part`);
  const metaPath = join(dir, `${id}.json`);
  const finalPath = join(dir, id);
  // Building trace records costs allocations per chunk; skip it entirely
  // unless debug is on (the optional call skips evaluating its argument).
  const trace = logger?.enabled("debug")
    ? (fields: LogFields) => logger.debug("upload.trace", { id, ...fields })
    : undefined;

  const reader = intoReader(body);
  // The body is read straight into the pool's buffers and the writer gives
  // each back once written: the upload holds at most `queueBytes`, by
  // construction, and allocates nothing per chunk.
  const pool = new BufferPool({ capacityBytes: queueBytes });
  // Two buffers at least, so the reader fills one while the writer writes
  // the other.
  const bufferBytes = Math.min(
    writeBytes,
    Math.max(1, Math.floor(queueBytes / 2)),
  );
  // Small buffers first, big ones once the body proves fast (see
  // FAST_WINDOW_BYTES): big writes only pay off when the disk is kept busy,
  // while many slow clients at once would each hold megabytes for nothing.
  const startBytes = Math.min(bufferBytes, START_BUFFER_BYTES);
  // A buffer with less room than this is handed over as it is: a BYOB read
  // into a view of a few bytes can stall a chunked request body for good
  // (seen on Deno 2.9.6 with views under 8 bytes), and tiny reads are slow.
  // A quarter of a buffer at most, or buffers would go out a read at a time.
  const minReadBytes = Math.max(
    1,
    Math.min(MIN_READ_BYTES, Math.floor(startBytes / 4)),
  );
  // The first failure wins; aborting `failed` stops both tasks at once.
  const failed = new AbortController();
  const queue = new BoundedQueue({
    capacityBytes: queueBytes,
    signal: failed.signal,
  });
  const fail = (error: unknown) => {
    if (failed.signal.aborted) return;
    failed.abort(isNoSpace(error) ? new NoSpaceError({ cause: error }) : error);
    pool.abort(failed.signal.reason);
    // Settles a pending read with done, so the reader task notices.
    reader.cancel(failed.signal.reason).catch(() => {});
  };
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  let readerWaitMs = 0;
  let readerBlockedMs = 0;
  let writerWriteMs = 0;
  let writerIdleMs = 0;
  let size = 0;
  // Set while the writer waits on an empty queue: the reader then hands
  // over what it has instead of filling its buffer first.
  let writerWaiting = false;

  const readBody = async (): Promise<Uint8Array> => {
    const hash = createHash("sha256");
    // One timer for the whole upload rather than one per read: it fires
    // when the current read may have waited `idleTimeoutMs`, or when the
    // body may have fallen below the rate floor, and re-arms itself for
    // the rest of the time otherwise. Both count only time spent reading:
    // a reader blocked on a slow disk is not the client's fault.
    let readingSince: number | undefined;
    let timer: ReturnType<typeof setTimeout>;
    const check = () => {
      const waited = readingSince === undefined
        ? 0
        : performance.now() - readingSince;
      const networkMs = readerWaitMs + waited;
      if (waited >= idleTimeoutMs) {
        fail(new UploadIdleTimeoutError(idleTimeoutMs));
      } else if (floor.tooSlow(size, networkMs)) {
        fail(
          new UploadTooSlowError(
            floor.minBytesPerSecond,
            RateFloor.rate(size, networkMs),
          ),
        );
      } else {
        const next = Math.min(
          idleTimeoutMs - waited,
          floor.msUntilTooSlow(size, networkMs),
        );
        timer = setTimeout(check, Math.min(Math.max(1, next), MAX_TIMEOUT_MS));
      }
    };
    timer = setTimeout(
      check,
      Math.min(idleTimeoutMs, floor.msUntilTooSlow(0, 0)),
    );
    try {
      let wanted = startBytes;
      let buffer = await pool.acquire(wanted);
      let filled = 0;
      // The body rate, measured over windows of FAST_WINDOW_BYTES of the
      // time spent waiting for the network: time blocked on a busy writer
      // says nothing of the client (and is when big buffers pay off).
      let windowStart = 0;
      let windowSize = 0;
      // Queues the filled part of `buffer`; with `next`, takes a fresh
      // buffer too, which waits while the writer holds all the others.
      const handOver = async (next: boolean): Promise<void> => {
        const t0 = performance.now();
        const bytes = filled;
        writerWaiting = false;
        await queue.put(new Uint8Array(buffer, 0, bytes));
        filled = 0;
        if (next) buffer = await pool.acquire(wanted);
        const t1 = performance.now();
        readerBlockedMs += t1 - t0;
        trace?.({
          task: "reader",
          op: "put",
          bytes,
          ms: round3(t1 - t0),
          queued: queue.size,
        });
      };
      while (true) {
        const t0 = performance.now();
        readingSince = t0;
        const result = await reader.read(new Uint8Array(buffer, filled));
        readingSince = undefined;
        const t1 = performance.now();
        readerWaitMs += t1 - t0;
        failed.signal.throwIfAborted();
        // The read transferred the buffer: keep what it became.
        if (result.value) buffer = result.value.buffer as ArrayBuffer;
        if (result.done) break;

        const chunk = result.value;
        size += chunk.byteLength;
        filled += chunk.byteLength;
        trace?.({
          task: "reader",
          op: "read",
          bytes: chunk.byteLength,
          ms: round3(t1 - t0),
          queued: queue.size,
        });
        if (size > maxBytes) throw new UploadTooLargeError(maxBytes);
        if (expectedLength !== undefined && size > expectedLength) {
          throw new UploadIncompleteError(expectedLength, size);
        }
        hash.update(chunk);
        if (wanted < bufferBytes && size - windowSize >= FAST_WINDOW_BYTES) {
          if (readerWaitMs - windowStart <= FAST_WINDOW_MS) {
            wanted = bufferBytes;
          }
          windowStart = readerWaitMs;
          windowSize = size;
        }
        // A full buffer goes to the writer; so does a partial one when the
        // writer is idle, so a read-bound upload reaches the disk as it
        // arrives. Buffers fill up only while the writer is busy, which is
        // when bigger writes pay off.
        if (buffer.byteLength - filled < minReadBytes || writerWaiting) {
          await handOver(true);
        }
      }
      if (filled > 0) {
        await handOver(false);
      } else {
        pool.release(buffer);
      }
    } finally {
      clearTimeout(timer);
    }
    if (expectedLength !== undefined && size < expectedLength) {
      throw new UploadIncompleteError(expectedLength, size);
    }
    const digest = hash.digest();
    // Checked before the queue closes, so a mismatch stops the writer too.
    if (expectedSha256 && !sameBytes(digest, expectedSha256)) {
      throw new DigestMismatchError(hex(expectedSha256), hex(digest));
    }
    queue.close();
    return digest;
  };

  const writeFile = async (out: UploadSink): Promise<void> => {
    while (true) {
      const t0 = performance.now();
      writerWaiting = queue.length === 0;
      const chunk = await queue.get();
      writerWaiting = false;
      const t1 = performance.now();
      writerIdleMs += t1 - t0;
      trace?.({
        task: "writer",
        op: "get",
        bytes: chunk?.byteLength ?? 0,
        ms: round3(t1 - t0),
        queued: queue.size,
      });
      if (chunk === undefined) break;

      failed.signal.throwIfAborted();
      await writeAll(out, chunk);
      const t2 = performance.now();
      writerWriteMs += t2 - t1;
      trace?.({
        task: "writer",
        op: "write",
        bytes: chunk.byteLength,
        ms: round3(t2 - t1),
        queued: queue.size,
      });
      // Written: the buffer can take the next bytes of the body.
      pool.release(chunk.buffer as ArrayBuffer);
    }
  };

  let file: Deno.FsFile | undefined;
  let committing = false;
  try {
    signal?.throwIfAborted();
    if (expectedLength !== undefined && expectedLength > maxBytes) {
      throw new UploadTooLargeError(maxBytes);
    }
    file = await Deno.open(partPath, { write: true, createNew: true });
    const out = sink ? sink(file) : file;
    const [digest] = await Promise.all([
      readBody().catch((error) => void fail(error)),
      writeFile(out).catch((error) => void fail(error)),
    ]);
    failed.signal.throwIfAborted();
    // Past this point the upload is complete; the commit is not cancelled.
    signal?.removeEventListener("abort", onAbort);
    if (!digest) throw new Error("unreachable: reader ended without a digest");

    committing = true;
    const t0 = performance.now();
    await file.sync();
    file.close();
    file = undefined;

    const metadata: FileMetadata = {
      id,
      size,
      sha256: hex(digest),
      created: new Date().toISOString(),
      ...describe?.(),
    };
    const sidecar = await Deno.open(metaPartPath, {
      write: true,
      createNew: true,
    });
    try {
      await writeAll(
        sidecar,
        new TextEncoder().encode(JSON.stringify(metadata) + "\n"),
      );
      await sidecar.sync();
    } finally {
      sidecar.close();
    }
    // The sidecar goes first so that `<id>` appearing is the commit point;
    // a crash in between leaves an orphan sidecar, which the store sweeps.
    await Deno.rename(metaPartPath, metaPath);
    await Deno.rename(partPath, finalPath);
    await syncDir(dir);
    trace?.({
      task: "commit",
      op: "commit",
      ms: round3(performance.now() - t0),
    });

    const durationMs = performance.now() - started;
    return {
      ...metadata,
      sha256Base64: Buffer.from(digest).toString("base64"),
      durationMs: round3(durationMs),
      bytesPerSecond: Math.round(size / (Math.max(durationMs, 0.001) / 1000)),
      readerWaitMs: round3(readerWaitMs),
      readerBlockedMs: round3(readerBlockedMs),
      writerWriteMs: round3(writerWriteMs),
      writerIdleMs: round3(writerIdleMs),
      maxQueuedBytes: queue.maxBytes,
      bound: classifyBound({ readerBlockedMs, writerIdleMs }),
    };
  } catch (error) {
    fail(error);
    const reason: unknown = failed.signal.reason;
    signal?.removeEventListener("abort", onAbort);
    try {
      file?.close();
    } catch {
      // Already closed by a failing sync; nothing more to release.
    }
    const leftovers = committing
      ? [partPath, metaPartPath, metaPath, finalPath]
      : [partPath];
    for (const path of leftovers) {
      try {
        await removeIfExists(path);
      } catch (cleanupError) {
        // The upload error is what the caller needs; the leftover is
        // logged and swept on the next start.
        logger?.warn("upload.cleanup_failed", {
          id,
          path,
          error: cleanupError,
        });
      }
    }
    throw reason;
  }
}
