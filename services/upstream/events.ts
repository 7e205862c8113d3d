/**
 * What the upstream client reports to its observers (metrics): each
 * attempt, and each call shed before it reached the upstream (and what
 * answered its request).
 *
 * @module
 */

/**
 * Why a call never reached the upstream: its client held its share of the
 * slots and queue already, the wait queue was full, no slot came free
 * within the budget, or the circuit breaker was open.
 */
export type ShedReason =
  | "client_share"
  | "queue_full"
  | "queue_timeout"
  | "breaker_open";

/**
 * What answered the request a shed call was for: `refused` (503 with
 * `Retry-After`), or `stale` (a stored copy: the call was a background
 * refresh of an entry served stale already, or a miss whose stale copy
 * stood in, stale-if-error). A count of sheds alone told neither: a load
 * test's 21,125 client_share sheds were 4,090 503s and 17,035 refreshes.
 */
export type ShedAnswer = "refused" | "stale";

/** What {@linkcode JsonPlaceholderClientOptions.onAttempt} sees. */
export interface UpstreamAttempt {
  /** `ok`, `not_found`, `retry`, `error` or `timeout`. */
  outcome: "ok" | "not_found" | "retry" | "error" | "timeout";
  /** Upstream status, when it answered. */
  status?: number;
  /** Duration of the attempt in milliseconds. */
  durationMs: number;
}
