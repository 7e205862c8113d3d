/**
 * Upstream calls ended by the service's stop: a shutdown whose grace
 * period ran out while requests still waited on an upstream that had not
 * answered (one that hangs, with `UPSTREAM_TIMEOUT_MS` longer than
 * `SHUTDOWN_GRACE_MS`). The exit closed those clients' connections with
 * no answer (curl: "Empty reply from server"); the client now aborts
 * every call's deadline with {@linkcode CallsStopped}, and each call
 * fails with an answer the client can act on:
 *
 * - a GET, or any call still waiting for a slot (nothing sent): 503 with
 *   `Retry-After`; sent again (to another instance), nothing is repeated
 *   that mattered. Through the cache, a stale entry within
 *   stale-if-error answers instead, as for any upstream failure.
 * - a write the upstream had: 504, saying it may have been carried out
 *   (a 503 reads as "not done, send it again").
 *
 * @module
 */

import type { Outcome } from "./answer.ts";
import { UpstreamError } from "./error.ts";

/** The reason every call's deadline is aborted with when the client stops. */
export class CallsStopped extends Error {
  constructor() {
    super("the service is shutting down");
    this.name = "CallsStopped";
  }
}

/** Whether `deadline` ended because the client was stopped. */
export function stoppedBy(deadline: AbortSignal): boolean {
  return deadline.aborted && deadline.reason instanceof CallsStopped;
}

/** The 503 of a call not sent, or of a GET: safe to send again. */
export function stoppedCall(cause?: unknown): UpstreamError {
  return new UpstreamError(
    503,
    "the service is shutting down and the upstream had not answered; " +
      "send the request again",
    { retryAfterSeconds: 1, cause },
  );
}

/** The 504 of a write the upstream had but did not answer. */
export function stoppedWrite(method: string, cause?: unknown): UpstreamError {
  return new UpstreamError(
    504,
    `the service is shutting down and the upstream had not answered the ` +
      `${method}: it may have been carried out`,
    { cause },
  );
}

/**
 * The outcome of an attempt cut short by the stop: fatal (no retry),
 * reported as a timeout (the upstream did not answer in the time there
 * was), and not the upstream's failure for the breaker.
 */
export function stoppedOutcome(error: UpstreamError, status?: number): Outcome {
  return {
    kind: "fatal",
    error,
    local: true,
    report: status === undefined
      ? { outcome: "timeout" }
      : { outcome: "timeout", status },
  };
}
