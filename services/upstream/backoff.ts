/**
 * The backoff between upstream attempts: its length (exponential, capped,
 * full jitter) and an abortable pause.
 *
 * @module
 */

import type { Signals } from "./answer.ts";
import type { UpstreamError } from "./error.ts";
import { stoppedBy, stoppedCall } from "./stopped.ts";

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

/**
 * The pause between two attempts of one call: the caller leaving ends it
 * with the caller's reason, the client's stop with its 503 (the attempt
 * before it sent nothing that mattered, or it would not be retried), the
 * call's deadline passing with `lastError` (the attempt that failed).
 */
export async function pauseBetweenAttempts(
  ms: number,
  signals: Signals,
  lastError: UpstreamError,
): Promise<void> {
  const { caller, deadline } = signals;
  try {
    await sleep(ms, caller ? AbortSignal.any([caller, deadline]) : deadline);
  } catch (error) {
    if (caller?.aborted) throw caller.reason;
    if (stoppedBy(deadline)) throw stoppedCall(error);
    if (deadline.aborted) throw lastError;
    throw error;
  }
}
