/**
 * Reusable `ArrayBuffer`s within a byte budget: a producer takes a buffer,
 * fills it and hands it on; whoever drains it gives it back for the next
 * fill. `acquire` waits while the budget is spent, so the memory is
 * bounded by construction and nothing is allocated per chunk.
 *
 * The upload reader reads the request body straight into pool buffers
 * (BYOB) and the writer gives each one back once it is on disk, so an
 * upload holds at most its queue capacity, however fast the body comes
 * and however late the garbage collector runs.
 *
 * Buffers are allocated lazily and by size: an upload that never backs up
 * uses a couple of small buffers, one that does moves to big ones.
 *
 * @example Usage
 * ```ts
 * const pool = new BufferPool({ capacityBytes: 4096 });
 * const buffer = await pool.acquire(1024);
 * // ... fill it, hand it on; whoever drains it gives it back:
 * pool.release(buffer);
 * ```
 *
 * @module
 */

/** Options of the {@linkcode BufferPool} constructor. */
export interface BufferPoolOptions {
  /** Most bytes of buffers in existence at once; a positive safe integer. */
  capacityBytes: number;
}

interface Waiter extends PromiseWithResolvers<ArrayBuffer> {
  bytes: number;
}

/**
 * A pool of buffers whose sizes add up to at most `capacityBytes`.
 *
 * A buffer given back may be a different `ArrayBuffer` object than the one
 * handed out (a BYOB read transfers the buffer it fills), so the pool
 * counts bytes rather than tracking identities.
 */
export class BufferPool {
  #capacity: number;
  // Bytes of the buffers that exist: handed out, or free.
  #allocated = 0;
  #outBytes = 0;
  #free: ArrayBuffer[] = [];
  #waiters: Waiter[] = [];
  #aborted = false;
  #reason: unknown = undefined;

  /** Creates an empty pool. Throws a `RangeError` on a bad capacity. */
  constructor(options: BufferPoolOptions) {
    const { capacityBytes } = options;
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1) {
      throw new RangeError(
        `capacityBytes must be a positive safe integer, got ${capacityBytes}`,
      );
    }
    this.#capacity = capacityBytes;
  }

  /** The budget in bytes. */
  get capacityBytes(): number {
    return this.#capacity;
  }

  /** Bytes of the buffers that exist now, handed out or free. */
  get allocatedBytes(): number {
    return this.#allocated;
  }

  /** Bytes of the buffers handed out and not given back yet. */
  get inUseBytes(): number {
    return this.#outBytes;
  }

  /** Whether {@linkcode BufferPool.abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /**
   * Hands out a buffer of exactly `bytes`: a free one of that size, else a
   * new one if the budget allows (free buffers of other sizes are dropped
   * to make room), else the first one that becomes possible after a
   * `release`. Waiters are served in order. Rejects with a `RangeError` if
   * `bytes` is not an integer in [1, capacityBytes], and with the abort
   * reason once the pool is aborted.
   */
  acquire(bytes: number): Promise<ArrayBuffer> {
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > this.#capacity) {
      return Promise.reject(
        new RangeError(`bytes must be an integer in [1, ${this.#capacity}]`),
      );
    }
    if (this.#aborted) return Promise.reject(this.#reason);
    if (this.#waiters.length === 0) {
      const buffer = this.#take(bytes);
      if (buffer) return Promise.resolve(buffer);
    }
    const waiter = { ...Promise.withResolvers<ArrayBuffer>(), bytes };
    this.#waiters.push(waiter);
    return waiter.promise;
  }

  /**
   * Gives back a buffer from {@linkcode BufferPool.acquire} (or what a
   * transfer of it became). Throws a `TypeError` if it is not an
   * `ArrayBuffer` or is detached, and a `RangeError` if it is larger than
   * what is handed out. After an abort it does nothing.
   */
  release(buffer: ArrayBuffer): void {
    if (this.#aborted) return;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) {
      throw new TypeError("release takes a non-empty, attached ArrayBuffer");
    }
    if (buffer.byteLength > this.#outBytes) {
      throw new RangeError("release of more bytes than are handed out");
    }
    this.#outBytes -= buffer.byteLength;
    this.#free.push(buffer);
    while (this.#waiters.length > 0) {
      const taken = this.#take(this.#waiters[0]!.bytes);
      if (!taken) break;
      this.#waiters.shift()!.resolve(taken);
    }
  }

  /**
   * Fails the pool: waiting acquires reject at once with `reason`, later
   * ones too, and free buffers are dropped. Only the first call has an
   * effect.
   */
  abort(
    reason: unknown = new DOMException("The pool was aborted", "AbortError"),
  ): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#free = [];
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }

  #take(bytes: number): ArrayBuffer | undefined {
    const index = this.#free.findIndex((b) => b.byteLength === bytes);
    let buffer: ArrayBuffer | undefined;
    if (index >= 0) {
      buffer = this.#free.splice(index, 1)[0]!;
    } else {
      // Free buffers of other sizes give way to the size wanted now.
      while (this.#allocated + bytes > this.#capacity && this.#free.length) {
        this.#allocated -= this.#free.pop()!.byteLength;
      }
      if (this.#allocated + bytes > this.#capacity) return undefined;
      this.#allocated += bytes;
      buffer = new ArrayBuffer(bytes);
    }
    this.#outBytes += bytes;
    return buffer;
  }
}
