/**
 * Reads a body stream into one exact-size `Uint8Array`, within a byte cap.
 *
 * Read with a default reader, a fetch body hands out each chunk as a view
 * of a fresh 64 KiB buffer, however few bytes it holds: collecting those
 * views costs up to 64 times the body, and even dropped at once they are
 * garbage faster than it is collected. This reader reads byte streams
 * (fetch bodies) with a BYOB reader straight into buffers of its own, and
 * copies the chunks of other streams into them: one buffer of the declared
 * length when `Content-Length` is known, else segments that double from
 * 16 KiB up to 1 MiB, joined once at the end. So a body costs about its
 * size (twice, briefly, while a chunked one is joined), and a body past the
 * cap stops the read at once: the stream is cancelled and nothing read is
 * kept.
 *
 * ```ts ignore
 * const body = await readBody(response.body, {
 *   maxBytes: 16 * 1024 * 1024,
 *   expectedBytes: 292,
 * });
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

const FIRST_SEGMENT_BYTES = 16 * 1024;
const MAX_SEGMENT_BYTES = 1024 * 1024;
/**
 * Least room a read of a body of unknown length is given. Deno 2.9.6 fails
 * a BYOB read of 1 or 2 bytes that meets the end of a chunked request body
 * (`BadResource` inside the stream's pull) and the read never settles
 * (7 bytes and up end it): a chunked body of exactly `WRITE_MAX_BYTES`
 * (the read after it was the 1 byte to see the limit crossed), or one
 * leaving 1-2 bytes of a segment, hung its write until the header timeout
 * (408 after 30 s). At most this many bytes past the cap are read.
 */
const MIN_READ_BYTES = 1024;

/** The body is larger than the cap; nothing of it was kept. */
export class BodyTooLargeError extends RangeError {
  /** The cap that was crossed, in bytes. */
  readonly maxBytes: number;
  /** The declared length, when that alone crossed the cap. */
  readonly declaredBytes: number | undefined;
  constructor(maxBytes: number, declaredBytes?: number) {
    super(
      declaredBytes === undefined
        ? `body exceeds the ${maxBytes} byte limit`
        : `body of ${declaredBytes} bytes exceeds the ${maxBytes} byte limit`,
    );
    this.name = "BodyTooLargeError";
    this.maxBytes = maxBytes;
    this.declaredBytes = declaredBytes;
  }
}

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /**
   * The declared length (`Content-Length`), when known: the body is read
   * into one buffer of that size. More bytes than declared are still read
   * (a decoded body can be longer), fewer give a shorter copy.
   */
  expectedBytes?: number;
  /** Stops the read (and cancels the stream). */
  signal?: AbortSignal;
}

/**
 * Owned buffers a body is read into: one of the declared length, else
 * segments that double up to {@linkcode MAX_SEGMENT_BYTES}. Byte streams
 * read straight into {@linkcode space} (BYOB); others are copied by
 * {@linkcode push}.
 */
class Accumulator {
  readonly #maxBytes: number;
  readonly #expected: number | undefined;
  readonly #full: Uint8Array[] = [];
  #current: Uint8Array;
  #used = 0;
  #size = 0;

  constructor(maxBytes: number, expected: number | undefined) {
    this.#maxBytes = maxBytes;
    this.#expected = expected;
    this.#current = new Uint8Array(
      expected ?? Math.min(FIRST_SEGMENT_BYTES, maxBytes + 1),
    );
  }

  /** The free end of the current buffer, for a BYOB read. */
  space(): Uint8Array {
    const room = this.#current.byteLength - this.#used;
    if (room === 0 || (this.#expected === undefined && room < MIN_READ_BYTES)) {
      this.#grow();
    }
    return new Uint8Array(
      this.#current.buffer,
      this.#used,
      this.#current.byteLength - this.#used,
    );
  }

  /** Takes back the buffer of a BYOB read (`read` transfers it). */
  commit(view: Uint8Array | undefined): void {
    if (view === undefined) return;
    this.#current = new Uint8Array(view.buffer);
    this.#used += view.byteLength;
    this.#added(view.byteLength);
  }

  /** Copies a chunk in. */
  push(chunk: Uint8Array): void {
    this.#added(chunk.byteLength);
    let offset = 0;
    while (offset < chunk.byteLength) {
      const space = this.space();
      const n = Math.min(chunk.byteLength - offset, space.byteLength);
      space.set(chunk.subarray(offset, offset + n));
      this.#used += n;
      offset += n;
    }
  }

  /** The body: the one buffer when it is exactly full, else a joined copy. */
  finish(): Uint8Array {
    const parts = [...this.#full, this.#current.subarray(0, this.#used)]
      .filter((part) => part.byteLength > 0);
    const [only] = parts;
    if (parts.length === 1 && only!.byteLength === only!.buffer.byteLength) {
      return only!;
    }
    const body = new Uint8Array(this.#size);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.byteLength;
    }
    return body;
  }

  #added(bytes: number): void {
    this.#size += bytes;
    if (this.#size > this.#maxBytes) {
      throw new BodyTooLargeError(this.#maxBytes);
    }
  }

  #grow(): void {
    if (this.#used > 0) this.#full.push(this.#current.subarray(0, this.#used));
    // At the declared length, one byte is enough to see the end. Otherwise
    // doubling keeps segments few, and the caps keep the unused tail small;
    // one byte past the limit is room enough to see it crossed, but a
    // read is given MIN_READ_BYTES at least (see there).
    const next = this.#size === this.#expected ? 1 : Math.max(
      MIN_READ_BYTES,
      Math.min(
        MAX_SEGMENT_BYTES,
        Math.max(FIRST_SEGMENT_BYTES, this.#size),
        this.#maxBytes - this.#size + 1,
      ),
    );
    this.#current = new Uint8Array(next);
    this.#used = 0;
  }
}

/** A BYOB reader when the stream is a byte stream, else a default one. */
function readerOf(stream: ReadableStream<Uint8Array>) {
  try {
    return stream.getReader({ mode: "byob" });
  } catch {
    return stream.getReader();
  }
}

function validate(options: ReadBodyOptions): void {
  const { maxBytes, expectedBytes } = options;
  checkWholeNumbers({ maxBytes }, { min: 0 });
  if (expectedBytes !== undefined) {
    checkWholeNumbers({ expectedBytes }, { min: 0 });
  }
}

/**
 * Reads `stream` to its end into one exact-size `Uint8Array` that owns its
 * buffer.
 *
 * @throws {BodyTooLargeError} when the declared length or the bytes read
 * pass `maxBytes`; the stream is cancelled and what was read is dropped.
 * @throws the signal's reason when it aborts, or the stream's error.
 */
export async function readBody(
  stream: ReadableStream<Uint8Array> | null,
  options: ReadBodyOptions,
): Promise<Uint8Array> {
  validate(options);
  const { maxBytes, expectedBytes, signal } = options;
  if (stream === null) return new Uint8Array();
  if (expectedBytes !== undefined && expectedBytes > maxBytes) {
    await stream.cancel().catch(() => {});
    throw new BodyTooLargeError(maxBytes, expectedBytes);
  }
  const reader = readerOf(stream);
  const onAbort = () => reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const body = new Accumulator(maxBytes, expectedBytes);
    while (true) {
      let done: boolean;
      if (reader instanceof ReadableStreamBYOBReader) {
        const read = await reader.read(body.space());
        done = read.done;
        body.commit(read.value);
      } else {
        const read = await reader.read();
        done = read.done;
        if (!read.done) body.push(read.value);
      }
      signal?.throwIfAborted();
      if (done) return body.finish();
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}
