/**
 * The upload's reader task: reads the body into buffers from a
 * {@linkcode FreeList}, checks the limits (size, declared length, idle
 * timeout, rate floor) as it goes, and puts the filled buffers
 * on the {@linkcode BoundedQueue}. The queue is the only thing that makes
 * it wait besides the body itself: `readerWaitMs` is the time in body
 * reads, `readerBlockedMs` exactly the time in `put` on a full queue.
 *
 * @module
 */

import type { LogFields } from "../ops/logger.ts";
import type { BoundedQueue } from "./bounded_queue.ts";
import type { FreeList } from "./buffers.ts";
import {
  UploadIdleTimeoutError,
  UploadIncompleteError,
  UploadTooLargeError,
  UploadTooSlowError,
} from "./errors.ts";
import type { IntoReader } from "../http/into_reader.ts";
import { FrameFloor } from "../http/frame_floor.ts";
import { watchChunkedBody } from "../http/trailer_flood.ts";
import { RateFloor } from "./rate.ts";

// An upload starts with buffers of at most this size, and doubles them up
// to GROWN_BUFFER_BYTES each time one goes out full (a read, or the reads
// while the writer was busy, filled it). A slow body's buffers go out with
// the few KiB one read brought, to an idle writer: they stay small, so a
// slow upload holds two or three of 16 KiB (~32 KiB measured), not 64 KiB
// a read.
const START_BUFFER_BYTES = 16 * 1024;
const GROWN_BUFFER_BYTES = 64 * 1024;
// An upload moves to full-size buffers once a MiB of its body arrives
// within 32 ms of waiting for the network (at 32 MiB/s or more), or with
// at least 3/4 of it in reads that filled their whole view: the runtime
// held those bytes before they were asked for, so the body is ahead of the
// reader. On a loaded machine (load 19-25) a body sent on loopback never
// came "within 32 ms" (the wait counts the time the process waits for a
// core); the reader stayed on 16-64 KiB reads at 0.3 MB/s while the
// runtime kept the rest of a 128 MiB upload in its own memory: +100 MiB of
// RSS, 400 s (tests/chunked_upload_memory_test.ts).
const FAST_WINDOW_BYTES = 1024 * 1024;
const FAST_WINDOW_MS = 32;
const AHEAD_SHARE = 3 / 4;
const MIN_READ_BYTES = 16 * 1024;
// Each read asks for at most this much. The runtime receives the body into
// a buffer of the view's size and copies it into the view; at 256 KiB both
// stay in the core's cache, where 2 MiB views (a whole buffer) made the
// main thread's copies miss it: 6-16% less main-thread CPU per GiB in
// paired runs (bench/PROFILE.md, "Upload CPU").
const MAX_READ_BYTES = 256 * 1024;
// A body without a length (chunked) is read at most a chunk at a time: a
// Deno 2.9 BYOB read of one, given a view larger than the chunk (curl sends
// 64 KiB), takes ~1.2 ms instead of ~0.05, so a 256 KiB view made chunked
// uploads ~55 MB/s, and one over the limit held the event loop for seconds
// to minutes while RSS grew (tests/chunked_upload_test.ts).
const CHUNKED_READ_BYTES = 64 * 1024;
/** setTimeout fires at once for delays above a signed 32-bit int. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * A buffer of `size` bytes with less room than this is handed over as it
 * is: a BYOB read into a view of a few bytes can stall a chunked request
 * body for good (seen on Deno 2.9.6 with views under 8 bytes), and tiny
 * reads are slow. A quarter of a buffer at most, or buffers would go out
 * a read at a time.
 */
const minReadBytes = (size: number) =>
  Math.max(1, Math.min(MIN_READ_BYTES, Math.floor(size / 4)));

/**
 * The request body's own progress, when what the reader reads is a part of
 * it (a form's file part, form_data.ts): a form's fields and framing come
 * before or around the file, so counting only the file's bytes gave a
 * client that sent hundreds of KiB of fields a 408 saying it had sent
 * "0 bytes, then nothing".
 */
export interface BodyProgress {
  /** Bytes of the request body received so far, framing included. */
  readonly receivedBytes: number;
  /** When the last of them arrived (`performance.now()`), if any did. */
  readonly lastReceivedAt: number | undefined;
}

/** The limits the reader enforces. */
export interface ReaderLimits {
  maxBytes: number;
  idleTimeoutMs: number;
  floor: RateFloor;
  expectedLength?: number | undefined;
  /**
   * What the idle timeout and the rate floor count when the body read is
   * a part of the request's (a form): its bytes and silence, not the
   * part's.
   */
  bodyProgress?: BodyProgress | undefined;
}

/** Options of {@linkcode ReaderTask}. */
export interface ReaderTaskOptions {
  body: IntoReader;
  queue: BoundedQueue;
  buffers: FreeList;
  limits: ReaderLimits;
  /** Size of the full-size buffers. */
  bufferBytes: number;
  /** Whether the writer waits on an empty queue (then partial buffers go). */
  writerIdle: () => boolean;
  /** Reports a failure that the watchdog found (idle, too slow). */
  fail: (error: unknown) => void;
  /** The upload's failure signal. */
  signal: AbortSignal;
  trace?: ((fields: LogFields) => void) | undefined;
}

/** Reads one body onto the queue; see the module doc. */
export class ReaderTask {
  /** Time in body reads (the network). */
  waitMs = 0;
  /** Time in `queue.put` on a full queue (the writer). */
  blockedMs = 0;
  /** Bytes read. */
  size = 0;
  /**
   * Bytes of the request body so far: `size`, or for a form's file part
   * the whole body's (`bodyProgress`), fields and framing included.
   */
  get bodyBytes(): number {
    return this.#o.limits.bodyProgress?.receivedBytes ?? this.size;
  }
  readonly #o: ReaderTaskOptions;
  // Small buffers first, big ones once the body proves fast (see
  // FAST_WINDOW_BYTES): big writes only pay off when the disk is kept
  // busy, while many slow clients at once would each hold megabytes.
  #wanted: number;
  /** The most one read asks for (see CHUNKED_READ_BYTES). */
  readonly #readBytes: number;
  #buffer: ArrayBuffer | undefined;
  #filled = 0;
  #readingSince: number | undefined;
  readonly #frames = new FrameFloor();
  #blockedSince: number | undefined;
  // The body rate, measured over windows of FAST_WINDOW_BYTES of the time
  // spent waiting for the network (`waitMs`): time blocked on a busy writer
  // says nothing of the client (and is when big buffers pay off).
  // Bytes of the window that came in reads that filled their view.
  #window = { waitMs: 0, size: 0, aheadBytes: 0 };

  /** Prepares the task; {@linkcode ReaderTask.run} starts it. */
  constructor(options: ReaderTaskOptions) {
    this.#o = options;
    this.#readBytes = options.limits.expectedLength === undefined
      ? CHUNKED_READ_BYTES
      : MAX_READ_BYTES;
    this.#wanted = Math.min(options.bufferBytes, START_BUFFER_BYTES);
  }

  /**
   * `waitMs` and `blockedMs` at `now`, counting the read or the blocked
   * put under way (the live progress reads them without per-chunk work).
   */
  timesAt(now: number): { waitMs: number; blockedMs: number } {
    const reading = this.#readingSince ?? now;
    const blocked = this.#blockedSince ?? now;
    return {
      waitMs: this.waitMs + (now - reading),
      blockedMs: this.blockedMs + (now - blocked),
    };
  }

  /**
   * Reads the whole body, then checks its length and closes the queue
   * (the content's SHA-256 is taken as the writer writes it).
   */
  async run(): Promise<void> {
    const stopWatchdog = this.#watch();
    // Without a length the body is chunked: a trailer section that never
    // ends grows the process while the read waits (trailer_flood.ts).
    const unwatch = this.#o.limits.expectedLength === undefined
      ? watchChunkedBody({
        waitingSince: () => this.#readingSince,
        fail: (error) => this.#o.fail(error),
      })
      : undefined;
    try {
      using _frames = this.#frames;
      await this.#readAll();
    } finally {
      stopWatchdog();
      unwatch?.();
    }
    const { expectedLength } = this.#o.limits;
    if (expectedLength !== undefined && this.size < expectedLength) {
      throw new UploadIncompleteError(expectedLength, this.size);
    }
    this.#o.queue.close();
  }

  async #readAll(): Promise<void> {
    const { bufferBytes, writerIdle } = this.#o;
    const frames = this.#frames;
    while (true) {
      const chunk = await this.#read();
      if (chunk === undefined) break;
      this.#accept(chunk);
      // A read of bytes already buffered never yields (frame_floor.ts): the
      // writer's writes, timers and other requests wait for a turn.
      const turn = frames.afterRead(chunk.byteLength);
      if (turn) {
        await turn;
        this.#o.signal.throwIfAborted();
      }
      if (this.#wanted < bufferBytes) this.#measureRate();
      const size = this.#buffer!.byteLength;
      // A full buffer goes to the writer; so does a partial one when the
      // writer is idle, so a read-bound upload reaches the disk as it
      // arrives. Buffers fill up only while the writer is busy, which is
      // when bigger writes pay off.
      if (size - this.#filled < minReadBytes(size)) {
        this.#grow();
        await this.#handOver();
      } else if (writerIdle()) await this.#handOver();
    }
    if (this.#filled > 0) await this.#handOver();
    else if (this.#buffer) this.#o.buffers.give(this.#buffer);
  }

  /** The next bytes of the body, read into the buffer; `undefined` at the end. */
  async #read(): Promise<Uint8Array | undefined> {
    // A failure (pipeline.ts) stops the reader here, before another read.
    this.#o.signal.throwIfAborted();
    this.#buffer ??= this.#o.buffers.take(this.#wanted);
    const t0 = performance.now();
    this.#readingSince = t0;
    const room = this.#buffer.byteLength - this.#filled;
    const asked = Math.min(room, this.#readBytes);
    const result = await this.#o.body.read(
      new Uint8Array(this.#buffer, this.#filled, asked),
    );
    this.#readingSince = undefined;
    const t1 = performance.now();
    this.waitMs += t1 - t0;
    this.#o.signal.throwIfAborted();
    // The read transferred the buffer: keep what it became.
    if (result.value) this.#buffer = result.value.buffer as ArrayBuffer;
    if (result.done) return undefined;
    if (result.value.byteLength === asked) {
      this.#window.aheadBytes += asked;
    }
    this.#o.trace?.({
      task: "reader",
      op: "read",
      bytes: result.value.byteLength,
      ms: round3(t1 - t0),
      queued: this.#o.queue.size,
    });
    return result.value;
  }

  /** Counts and checks `chunk`, just read into the buffer. */
  #accept(chunk: Uint8Array): void {
    const { maxBytes, expectedLength } = this.#o.limits;
    this.size += chunk.byteLength;
    this.#filled += chunk.byteLength;
    if (this.size > maxBytes) throw new UploadTooLargeError(maxBytes);
    if (expectedLength !== undefined && this.size > expectedLength) {
      throw new UploadIncompleteError(expectedLength, this.size);
    }
  }

  /** Doubles the buffers (up to GROWN_BUFFER_BYTES): one went out full. */
  #grow(): void {
    const cap = Math.min(GROWN_BUFFER_BYTES, this.#o.bufferBytes);
    if (this.#wanted < cap) this.#wanted = Math.min(cap, this.#wanted * 2);
  }

  /** Moves to full-size buffers once a window of the body came fast. */
  #measureRate(): void {
    const bytes = this.size - this.#window.size;
    if (bytes < FAST_WINDOW_BYTES) return;
    if (
      this.waitMs - this.#window.waitMs <= FAST_WINDOW_MS ||
      this.#window.aheadBytes >= AHEAD_SHARE * bytes
    ) {
      this.#wanted = this.#o.bufferBytes;
    }
    this.#window = { waitMs: this.waitMs, size: this.size, aheadBytes: 0 };
  }

  /** Queues the filled part of the buffer, waiting while the queue is full. */
  async #handOver(): Promise<void> {
    const bytes = this.#filled;
    const chunk = new Uint8Array(this.#buffer!, 0, bytes);
    this.#buffer = undefined;
    this.#filled = 0;
    // Only a put that has to wait counts as blocked: a put that goes in at
    // once may still yield to the writer's turn, which is not a wait on a
    // full queue.
    const full = !this.#o.queue.hasRoomFor(bytes);
    const t0 = performance.now();
    if (full) this.#blockedSince = t0;
    await this.#o.queue.put(chunk);
    this.#blockedSince = undefined;
    const t1 = performance.now();
    if (full) this.blockedMs += t1 - t0;
    this.#o.trace?.({
      task: "reader",
      op: "put",
      bytes,
      ms: round3(t1 - t0),
      full,
      queued: this.#o.queue.size,
    });
  }

  /**
   * One timer for the whole upload rather than one per read: it fires when
   * the current read may have waited `idleTimeoutMs`, or when the body may
   * have fallen below the rate floor, and re-arms itself for the rest of
   * the time otherwise. Both count only time spent reading: a reader
   * blocked on a slow disk is not the client's fault. A form's bytes and
   * silence are its whole body's (`bodyProgress`). Returns its stop.
   */
  #watch(): () => void {
    const { idleTimeoutMs, floor } = this.#o.limits;
    let timer: ReturnType<typeof setTimeout>;
    const check = () => {
      const now = performance.now();
      const since = this.#readingSince;
      const waited = since === undefined ? 0 : now - since;
      const networkMs = this.waitMs + waited;
      const { bytes, silentMs } = this.#received(now);
      if (silentMs >= idleTimeoutMs) {
        return this.#o.fail(new UploadIdleTimeoutError(idleTimeoutMs));
      }
      if (floor.tooSlow(bytes, networkMs)) {
        return this.#o.fail(
          new UploadTooSlowError(floor.minBytesPerSecond, {
            bytes,
            networkMs,
            silentMs,
            ...(this.#o.limits.bodyProgress ? { fileBytes: this.size } : {}),
          }),
        );
      }
      const next = Math.min(
        idleTimeoutMs - silentMs,
        floor.msUntilTooSlow(bytes, networkMs),
      );
      timer = setTimeout(check, Math.min(Math.max(1, next), MAX_TIMEOUT_MS));
    };
    timer = setTimeout(
      check,
      Math.min(idleTimeoutMs, floor.msUntilTooSlow(0, 0)),
    );
    return () => clearTimeout(timer);
  }

  /**
   * The body's bytes so far, and how long the read under way has gone
   * without any (0 when none is under way): the read's own wait, or for a
   * form's file part the time since the request body's last bytes, which
   * may be fields arriving while the part has not begun.
   */
  #received(now: number): { bytes: number; silentMs: number } {
    const progress = this.#o.limits.bodyProgress;
    const bytes = this.bodyBytes;
    const since = this.#readingSince;
    if (since === undefined) return { bytes, silentMs: 0 };
    const last = progress?.lastReceivedAt;
    const from = last === undefined ? since : Math.max(since, last);
    return { bytes, silentMs: now - from };
  }
}
