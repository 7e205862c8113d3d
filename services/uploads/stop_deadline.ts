/**
 * How long an upload that was stopped (its `signal` aborted: a shutdown
 * whose grace period ran out) may still wait for its storage before it is
 * answered. A store that hangs (an S3 endpoint gone silent) held the
 * upload's writes and then its abort's requests for up to
 * `S3_TIMEOUT_MS`, while the shutdown exits 2 s after stopping the
 * uploads (`main.ts`, `STOP_UPLOADS_MS`): the client, told `100 Continue`,
 * then saw its connection close with no answer, not knowing whether its
 * file was kept. Past the deadline the upload fails with the stop's
 * reason (503, nothing kept) and the storage's work goes on without it
 * (what it leaves, the sweep takes).
 *
 * ```ts ignore
 * const deadline = new StopDeadline(signal, STOPPED_WAIT_MS);
 * await deadline.race(sink.abort()); // settles by the deadline at the latest
 * deadline.clear();
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Default wait for the storage once stopped: 1 s, half of `main.ts`'s 2 s. */
export const STOPPED_WAIT_MS = 1_000;

/** Rejects waits `ms` after `signal` aborts; see the module doc. */
export class StopDeadline {
  readonly #passed: Promise<never>;
  readonly #signal: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cleared = false;
  readonly #onAbort: () => void;

  /** Starts watching `signal`; nothing happens until it aborts. */
  constructor(signal: AbortSignal | undefined, ms: number = STOPPED_WAIT_MS) {
    checkWholeNumbers({ ms }, { min: 0 });
    const { promise, reject } = Promise.withResolvers<never>();
    // Nobody may be waiting when it passes (the commit's own path).
    promise.catch(() => {});
    this.#passed = promise;
    this.#signal = signal;
    this.#onAbort = () => {
      if (this.#cleared) return;
      this.#timer = setTimeout(() => reject(signal!.reason), ms);
    };
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * `work`'s outcome, or the stop's reason once the deadline passed first;
   * `work` is left to run (its failure, if any, goes nowhere).
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.#cleared) return work;
    work.catch(() => {});
    return Promise.race([work, this.#passed]);
  }

  /** Stops watching: a later stop, or one under way, passes no deadline. */
  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}
