/**
 * The backoff between upstream attempts: its length (exponential, capped,
 * full jitter) and an abortable pause.
 *
 * @module
 */

/** The backoff settings. */
export interface Backoff {
  /** First step, ms; doubles per retry. */
  backoffMs: number;
  /** Cap of one step, ms. */
  maxBackoffMs: number;
}

/** The pause before retry number `attempt + 1`: full jitter, capped. */
export function jitteredBackoff(attempt: number, backoff: Backoff): number {
  return Math.random() *
    Math.min(backoff.maxBackoffMs, backoff.backoffMs * 2 ** attempt);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const onAbort = () => {
    clearTimeout(timer);
    reject(signal!.reason);
  };
  const timer = setTimeout(() => {
    signal?.removeEventListener("abort", onAbort);
    resolve();
  }, ms);
  signal?.addEventListener("abort", onAbort, { once: true });
  return promise;
}
