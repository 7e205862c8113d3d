/**
 * A sweep of a store's leftovers run again and again while the service
 * runs, not only at start. An S3 upload whose store went down mid-way
 * cannot abort its multipart upload (the abort fails too): its parts and
 * heartbeat stayed in the bucket, paid for, until some instance restarted.
 * Sweeping every so often takes them once the store is back.
 *
 * ```ts ignore
 * await using sweeps = new PeriodicSweep({
 *   everyMs: 30_000,
 *   sweep: () => storage.sweep(60_000),
 *   onSwept: (removed) => logger.warn("files.swept", { removed }),
 *   onError: (error) => logger.warn("files.sweep_failed", { error }),
 * });
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of {@linkcode PeriodicSweep}. */
export interface PeriodicSweepOptions {
  /** Time between the end of one sweep and the start of the next. */
  everyMs: number;
  /**
   * One sweep; resolves how many leftovers it removed. `signal` aborts
   * when the sweeps are closed: a long sweep stops there rather than hold
   * up the shutdown.
   */
  sweep: (signal: AbortSignal) => Promise<number>;
  /** Told when a sweep removed something. */
  onSwept?: (removed: number) => void;
  /** Told when a sweep failed (the store down: the next one tries again). */
  onError?: (error: unknown) => void;
}

/** Runs `sweep` every `everyMs`, one at a time, until closed. */
export class PeriodicSweep implements AsyncDisposable {
  readonly #options: PeriodicSweepOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #stop = new AbortController();

  /** Schedules the first sweep `everyMs` from now. */
  constructor(options: PeriodicSweepOptions) {
    const { everyMs } = options;
    checkWholeNumbers({ everyMs });
    this.#options = options;
    this.#schedule();
  }

  /** Stops sweeping: a sweep under way is aborted, and waited for. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stop.abort(new DOMException("sweeps closed", "AbortError"));
    await this.#running;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #schedule(): void {
    if (this.#closed) return;
    const timer = setTimeout(() => this.#run(), this.#options.everyMs);
    // Sweeping is housekeeping: it never keeps the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #run(): void {
    const { sweep, onSwept, onError } = this.#options;
    const { signal } = this.#stop;
    this.#running = sweep(signal).then(
      (removed) => {
        if (removed > 0) onSwept?.(removed);
      },
      (error) => {
        // Stopped by close(): no failure.
        if (!signal.aborted) onError?.(error);
      },
    ).finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
  }
}
