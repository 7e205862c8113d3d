/**
 * The expected failures of an upload, all {@linkcode UploadError}s: too
 * large, idle, too slow, incomplete, digest mismatch, no space, hash worker
 * ended. The routes
 * turn each into its problem response.
 *
 * @module
 */

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

/** What {@linkcode UploadTooSlowError} reports of the body. */
export interface SlowBody {
  /** Bytes received. */
  bytes: number;
  /** Time spent waiting for them (the network), ms. */
  networkMs: number;
  /** How long the read under way had waited for the next byte, ms. */
  silentMs: number;
  /**
   * Of `bytes`, the file's, when the body is a form (its fields and
   * framing are the rest).
   */
  fileBytes?: number;
}

// A body silent this long, or half the time measured, is said to have
// stopped rather than to be slow.
const STOPPED_MS = 1_000;

/**
 * The body's average rate fell below the floor once the grace window had
 * passed (see `minBytesPerSecond` of `receiveUpload`). The message says
 * how much came in what time, and when the body stopped (a chunked one
 * whose trailer section never ends looks so: it arrived, then nothing),
 * where it said "averaged 0 bytes/s" for a body that had arrived at once.
 */
export class UploadTooSlowError extends UploadError {
  /** The floor, in bytes per second. */
  readonly minBytesPerSecond: number;
  /** The average rate the body had, in bytes per second. */
  readonly bytesPerSecond: number;
  /** Bytes of the body received, a form's fields and framing included. */
  readonly receivedBytes: number;
  /** Creates the error. */
  constructor(minBytesPerSecond: number, body: SlowBody) {
    const { bytes, networkMs, silentMs, fileBytes } = body;
    // Rounded down: tooSlow means below the floor, which a rounded-up
    // average can hide ("1024 bytes/s is below the floor of 1024").
    const rate = networkMs <= 0 ? 0 : Math.floor((bytes * 1000) / networkMs);
    const ms = Math.round(networkMs);
    const stopped = silentMs >= Math.min(STOPPED_MS, networkMs / 2);
    const form = fileBytes !== undefined;
    const sent = form
      ? `${bytes} bytes (${fileBytes} of them the file's)`
      : `${bytes} bytes`;
    const ends = form
      ? "a form ends with its closing boundary"
      : "a chunked body ends with its trailer section";
    const received = stopped
      ? `${sent}, then nothing for ${Math.round(silentMs)} ms ` +
        `(${ms} ms in all): the body has not ended (${ends})`
      : `${sent} in ${ms} ms`;
    super(
      `Upload received ${received}; ${rate} bytes/s on average is below ` +
        `the floor of ${minBytesPerSecond} bytes/s`,
    );
    this.name = "UploadTooSlowError";
    this.minBytesPerSecond = minBytesPerSecond;
    this.bytesPerSecond = rate;
    this.receivedBytes = bytes;
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
 * The worker thread hashing the upload ended (closed, or died) before the
 * hash was done: what it had hashed is gone, so the upload cannot finish.
 * A later upload gets a worker again.
 */
export class HashWorkerEndedError extends UploadError {
  /** Creates the error; `cause` says how the worker ended. */
  constructor(options?: ErrorOptions) {
    super("The worker thread hashing the upload ended", options);
    this.name = "HashWorkerEndedError";
  }
}

/** Whether `error` is the OS reporting a full disk or quota. */
export function isNoSpace(error: unknown): boolean {
  // Deno has no Deno.errors class for ENOSPC: it throws a plain Error whose
  // `code` is the errno name ("No space left on device (os error 28)").
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && (code === "ENOSPC" || code === "EDQUOT");
}
