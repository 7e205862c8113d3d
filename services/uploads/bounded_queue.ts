/**
 * A bounded FIFO of byte chunks between one producer and one consumer, with
 * its capacity counted in bytes rather than chunks: `put` waits while the
 * queue is full, `get` waits while it is empty. This is the backpressure
 * point between the upload reader task and the writer task.
 *
 * @example Usage
 * ```ts
 * const queue = new BoundedQueue({ capacityBytes: 1024 });
 * await queue.put(new Uint8Array(10));
 * queue.close();
 * for await (const chunk of queue) console.log(chunk.byteLength);
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of the {@linkcode BoundedQueue} constructor. */
export interface BoundedQueueOptions {
  /** Most bytes held at once; a positive safe integer. */
  capacityBytes: number;
  /** Aborting it aborts the queue with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Receives each chunk an abort drops (queued, or waiting to go in), which
   * nobody will take any more: the upload gives their buffers' memory back
   * at once rather than leave it to a later collection.
   */
  dropped?: (chunk: Uint8Array) => void;
}

/** Options of {@linkcode BoundedQueue.put} and {@linkcode BoundedQueue.get}. */
export interface QueueWaitOptions {
  /** Gives up waiting (rejecting with `signal.reason`); the queue itself is unaffected. */
  signal?: AbortSignal;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(reason: unknown): void;
}

interface PutWaiter extends Waiter<void> {
  chunk: Uint8Array;
}

/**
 * A bounded FIFO of `Uint8Array` chunks whose capacity is in bytes.
 *
 * A chunk larger than the whole capacity is admitted once the queue is
 * empty, so progress is always possible; the queue can therefore briefly
 * hold up to `capacityBytes` plus one chunk. Waiting puts are served in
 * order, so a large chunk is not starved by smaller ones behind it.
 */
export class BoundedQueue implements AsyncIterable<Uint8Array> {
  #capacity: number;
  // A plain array with a moving head: shift() would copy on every get.
  #chunks: Uint8Array[] = [];
  #head = 0;
  #size = 0;
  #maxBytes = 0;
  #closed = false;
  #aborted = false;
  #reason: unknown = undefined;
  #putters: PutWaiter[] = [];
  #getters: Waiter<Uint8Array | undefined>[] = [];
  #signal: AbortSignal | undefined;
  #onSignalAbort = () => this.abort(this.#signal?.reason);
  #dropped: ((chunk: Uint8Array) => void) | undefined;

  /** Creates an empty queue. Throws a `RangeError` on a bad capacity. */
  constructor(options: BoundedQueueOptions) {
    const { capacityBytes, signal, dropped } = options;
    checkWholeNumbers({ capacityBytes });
    this.#capacity = capacityBytes;
    this.#dropped = dropped;
    if (signal?.aborted) {
      this.abort(signal.reason);
    } else if (signal) {
      this.#signal = signal;
      signal.addEventListener("abort", this.#onSignalAbort, { once: true });
    }
  }

  /** Bytes queued now. */
  get size(): number {
    return this.#size;
  }

  /** Chunks queued now. */
  get length(): number {
    return this.#chunks.length - this.#head;
  }

  /** The most bytes ever queued at once (high-water mark). */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** The capacity in bytes. */
  get capacityBytes(): number {
    return this.#capacity;
  }

  /** Whether {@linkcode BoundedQueue.close} (or `abort`) was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether {@linkcode BoundedQueue.abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /**
   * Whether a `put` of `byteLength` bytes would go in at once: a getter
   * waits, or no put waits and the bytes fit (an empty queue takes any
   * chunk). `false` also once the queue is closed.
   */
  hasRoomFor(byteLength: number): boolean {
    if (this.#closed) return false;
    if (this.#getters.length > 0) return true;
    return this.#putters.length === 0 &&
      (this.#size === 0 || this.#size + byteLength <= this.#capacity);
  }

  /**
   * Enqueues `chunk`, waiting while it would push the queue over capacity.
   * Rejects with a `TypeError` once the queue is closed, and with the abort
   * reason once it is aborted.
   */
  put(chunk: Uint8Array, options: QueueWaitOptions = {}): Promise<void> {
    const { signal } = options;
    if (!(chunk instanceof Uint8Array)) {
      return Promise.reject(new TypeError("chunk must be a Uint8Array"));
    }
    if (this.#aborted) return Promise.reject(this.#reason);
    if (this.#closed) {
      return Promise.reject(new TypeError("Cannot put into a closed queue"));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);

    // A waiting getter means the queue is empty: hand the chunk over.
    const getter = this.#getters.shift();
    if (getter) {
      getter.resolve(chunk);
      return Promise.resolve();
    }
    if (this.#putters.length === 0 && this.#fits(chunk)) {
      this.#push(chunk);
      return Promise.resolve();
    }
    return this.#wait(this.#putters, signal, { chunk });
  }

  /**
   * Dequeues the next chunk, waiting while the queue is empty. Resolves
   * `undefined` once the queue is closed and drained; rejects with the
   * abort reason once it is aborted.
   */
  get(options: QueueWaitOptions = {}): Promise<Uint8Array | undefined> {
    const { signal } = options;
    if (this.#aborted) return Promise.reject(this.#reason);
    if (signal?.aborted) return Promise.reject(signal.reason);

    if (this.length > 0) {
      const chunk = this.#shift();
      this.#admitPutters();
      if (this.#closed && this.length === 0) this.#detachSignal();
      return Promise.resolve(chunk);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return this.#wait(this.#getters, signal, {});
  }

  /**
   * Ends the producer side: later puts reject, puts already waiting still
   * go in, and getters drain what is left before getting `undefined`.
   */
  close(): void {
    if (this.#closed || this.#aborted) return;
    this.#closed = true;
    // Getters only wait on an empty queue, and nothing more will come.
    for (const getter of this.#getters.splice(0)) getter.resolve(undefined);
    if (this.length === 0 && this.#putters.length === 0) this.#detachSignal();
  }

  /**
   * Fails the queue: every waiting put and get rejects at once with
   * `reason`, queued chunks are dropped, and every later put or get rejects
   * with the same reason. Only the first call has an effect.
   */
  abort(
    reason: unknown = new DOMException("The queue was aborted", "AbortError"),
  ): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#closed = true;
    this.#reason = reason;
    const dropped = this.#chunks.slice(this.#head);
    this.#chunks = [];
    this.#head = 0;
    this.#size = 0;
    this.#detachSignal();
    for (const putter of this.#putters.splice(0)) {
      dropped.push(putter.chunk);
      putter.reject(reason);
    }
    for (const getter of this.#getters.splice(0)) getter.reject(reason);
    if (this.#dropped) { for (const chunk of dropped) this.#dropped(chunk); }
  }

  /** Yields chunks until the queue is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    while (true) {
      const chunk = await this.get();
      if (chunk === undefined) return;
      yield chunk;
    }
  }

  #fits(chunk: Uint8Array): boolean {
    return this.#size === 0 ||
      this.#size + chunk.byteLength <= this.#capacity;
  }

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    if (this.#size > this.#maxBytes) this.#maxBytes = this.#size;
  }

  #shift(): Uint8Array {
    const chunk = this.#chunks[this.#head]!;
    this.#head++;
    this.#size -= chunk.byteLength;
    // Compact once the dead prefix dominates, keeping gets amortized O(1).
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    return chunk;
  }

  #admitPutters(): void {
    while (this.#putters.length > 0 && this.#fits(this.#putters[0]!.chunk)) {
      const putter = this.#putters.shift()!;
      this.#push(putter.chunk);
      putter.resolve();
    }
  }

  #detachSignal(): void {
    this.#signal?.removeEventListener("abort", this.#onSignalAbort);
    this.#signal = undefined;
  }

  /**
   * Parks a waiter in `list` until it is resolved or rejected by the queue,
   * or until `signal` aborts; the abort listener is removed on either path.
   */
  #wait<T, W extends Waiter<T>>(
    list: W[],
    signal: AbortSignal | undefined,
    extra: Omit<W, keyof Waiter<T>>,
  ): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const onAbort = () => {
      const index = list.indexOf(waiter);
      if (index >= 0) list.splice(index, 1);
      // A put leaving the head of the line may unblock the ones behind it
      // (a no-op when a getter leaves).
      this.#admitPutters();
      reject(signal!.reason);
    };
    const waiter = {
      ...extra,
      resolve: (value: T) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(value);
      },
      reject: (reason: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        reject(reason);
      },
    } as W;
    signal?.addEventListener("abort", onAbort, { once: true });
    list.push(waiter);
    return promise;
  }
}
