/**
 * A counting semaphore with a bounded, first-come-first-served wait queue.
 *
 * An unbounded queue turns an overload into ever longer waits: every
 * request still gets in, just later than anyone cares for. Here a full
 * queue refuses at once ({@linkcode QueueFullError}), and a waiter leaves
 * the queue when its signal aborts, so a deadline that covers the wait
 * bounds it.
 *
 * ```ts
 * import { Semaphore } from "./semaphore.ts";
 *
 * const slots = new Semaphore({ permits: 2, queueLimit: 10 });
 * await slots.acquire({ signal: AbortSignal.timeout(5000) });
 * try {
 *   // ... at most 2 of these run at once
 * } finally {
 *   slots.release();
 * }
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** The wait queue is full: the caller should shed the work now. */
export class QueueFullError extends Error {
  /** How many were waiting. */
  readonly queueLimit: number;
  constructor(queueLimit: number) {
    super(`all permits are taken and ${queueLimit} are waiting already`);
    this.name = "QueueFullError";
    this.queueLimit = queueLimit;
  }
}

/** Options of {@linkcode Semaphore}. */
export interface SemaphoreOptions {
  /** Permits: how many may hold one at once. */
  permits: number;
  /** Most callers waiting for a permit; 0 means no waiting. */
  queueLimit: number;
}

/** Options of {@linkcode Semaphore.acquire}. */
export interface AcquireOptions {
  /** Leaves the queue (rejecting with its reason) when it aborts. */
  signal?: AbortSignal;
}

/** A counting semaphore with a bounded wait queue. */
export class Semaphore {
  readonly #permits: number;
  readonly #queueLimit: number;
  readonly #waiters: (() => void)[] = [];
  #free: number;

  constructor(options: SemaphoreOptions) {
    const { permits, queueLimit } = options;
    checkWholeNumbers({ permits });
    checkWholeNumbers({ queueLimit }, { min: 0 });
    this.#permits = permits;
    this.#queueLimit = queueLimit;
    this.#free = permits;
  }

  /** The number of permits. */
  get permits(): number {
    return this.#permits;
  }

  /** Permits not held right now. */
  get free(): number {
    return this.#free;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a permit, waiting in line for one when none is free.
   *
   * @throws {QueueFullError} at once when `queueLimit` callers wait already.
   * @throws the signal's reason when it aborts first.
   */
  acquire(options: AcquireOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    if (this.#waiters.length >= this.#queueLimit) {
      return Promise.reject(new QueueFullError(this.#queueLimit));
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const wake = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      const i = this.#waiters.indexOf(wake);
      if (i >= 0) this.#waiters.splice(i, 1);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiters.push(wake);
    return promise;
  }

  /** Gives a permit back: to the first waiter, else to the pool. */
  release(): void {
    const next = this.#waiters.shift();
    // Handed straight over rather than freed, so a newcomer cannot
    // overtake the queue.
    if (next) next();
    else if (this.#free < this.#permits) this.#free++;
    else throw new RangeError("release() without a permit held");
  }
}
