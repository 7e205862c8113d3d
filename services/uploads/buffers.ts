/**
 * The buffers the upload reader reads the body into: a free list that
 * never waits. {@linkcode FreeList.take} reuses a buffer the writer gave
 * back, or allocates one; the writer gives each buffer back once it is
 * written. Nothing bounds the list itself: the bounded queue does. A
 * buffer is alive only while the reader fills it, the queue holds it, the
 * writer writes it, or it is free; a new one is made only when none is
 * free, so the buffers alive are at most the most ever in use at once:
 * the queued ones (the queue's capacity in bytes; the reader queues
 * buffers full, or partly filled only to an idle writer, which takes them
 * at once) plus the one the reader fills and the one the writer writes,
 * and those the hash holds (see `hashing.ts`). A {@linkcode BufferAccount}
 * sums what the lists of the uploads in flight hold.
 *
 * @example Usage
 * ```ts
 * const buffers = new FreeList();
 * const buffer = buffers.take(1024);
 * // ... fill it, queue it; the writer gives it back once written:
 * buffers.give(buffer);
 * ```
 *
 * @module
 */

/**
 * The bytes of the buffers that the uploads in flight hold, summed over
 * their free lists (the `upload_buffer_bytes` gauge): a buffer counts from
 * its allocation until its list frees it, or until its upload ends.
 */
export class BufferAccount {
  /** Bytes held now. */
  bytes = 0;
}

/** Options of {@linkcode FreeList}. */
export interface FreeListOptions {
  /** Where the list's buffers are counted while its upload runs. */
  account?: BufferAccount | undefined;
}

/**
 * Reusable `ArrayBuffer`s. A buffer given back may be a different object
 * than the one taken (a BYOB read transfers the buffer it fills).
 */
export class FreeList {
  #free: ArrayBuffer[] = [];
  #allocations = 0;
  // Bytes of the buffers allocated here and not freed here: being filled,
  // queued, written, hashed, or free.
  #bytes = 0;
  #account: BufferAccount | undefined;

  constructor(options: FreeListOptions = {}) {
    this.#account = options.account;
  }

  /**
   * Bytes of the buffers this list allocated and has not freed (held
   * anywhere in the upload, or free here).
   */
  get bytes(): number {
    return this.#bytes;
  }

  /** How many buffers were allocated since the start. */
  get allocations(): number {
    return this.#allocations;
  }

  /** How many buffers are free now. */
  get length(): number {
    return this.#free.length;
  }

  /**
   * A buffer of exactly `bytes`: a free one of that size, else a new one.
   * Free buffers of other sizes are dropped (the reader moved to another
   * size for good). Throws a `RangeError` unless `bytes` is a positive
   * safe integer.
   */
  take(bytes: number): ArrayBuffer {
    if (!Number.isSafeInteger(bytes) || bytes < 1) {
      throw new RangeError("bytes must be a positive safe integer");
    }
    while (this.#free.length > 0) {
      const buffer = this.#free.pop()!;
      if (buffer.byteLength === bytes) return buffer;
      this.#drop(buffer);
    }
    this.#allocations++;
    this.#count(bytes);
    return new ArrayBuffer(bytes);
  }

  /**
   * Frees every free buffer at once (see {@linkcode free}); the list stays
   * usable.
   */
  clear(): void {
    for (const buffer of this.#free.splice(0)) this.#drop(buffer);
  }

  /**
   * The upload ended: frees the free buffers ({@linkcode clear}) and
   * stops counting the rest in the account (a failed upload's last buffers
   * are left to the collector, or were detached by the hash).
   */
  close(): void {
    this.clear();
    if (this.#account) this.#account.bytes -= this.#bytes;
    this.#account = undefined;
  }

  #count(bytes: number): void {
    this.#bytes += bytes;
    if (this.#account) this.#account.bytes += bytes;
  }

  #drop(buffer: ArrayBuffer): void {
    this.#count(-buffer.byteLength);
    free(buffer);
  }

  /** Gives back a buffer for a later `take`; detached ones are dropped. */
  give(buffer: ArrayBuffer): void {
    if (!(buffer instanceof ArrayBuffer)) {
      throw new TypeError("give takes an ArrayBuffer");
    }
    if (buffer.byteLength > 0) this.#free.push(buffer);
  }
}

/**
 * Returns `buffer`'s memory now rather than whenever the garbage collector
 * finds it: detaching drops the memory at once (no copy is made). Left to
 * the collector, one upload's buffers (a queue's worth) were often still
 * held when the next upload allocated its own, doubling the peak.
 */
function free(buffer: ArrayBuffer): void {
  buffer.transfer(0);
}
