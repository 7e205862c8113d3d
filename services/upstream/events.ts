/**
 * What the upstream client reports to its observers (metrics): each
 * attempt, and each call shed before it reached the upstream.
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

/** What {@linkcode JsonPlaceholderClientOptions.onAttempt} sees. */
export interface UpstreamAttempt {
  /** `ok`, `not_found`, `retry`, `error` or `timeout`. */
  outcome: "ok" | "not_found" | "retry" | "error" | "timeout";
  /** Upstream status, when it answered. */
  status?: number;
  /** Duration of the attempt in milliseconds. */
  durationMs: number;
}
