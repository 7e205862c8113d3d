/**
 * A connection to the upstream that could not be opened because this
 * process is out of file descriptors (EMFILE, ENFILE): the process's
 * failure, not the upstream's. Counted as the upstream's, a flood of
 * client sockets under `ulimit -n 256` (wrk -c200 of cold keys) opened the
 * circuit breaker again and again, and every miss of every client got 503
 * for its cooldown.
 *
 * @module
 */

import { isFailure, type Outcome } from "./answer.ts";
import type { BreakerOutcome } from "./circuit_breaker.ts";
import { UpstreamError } from "./error.ts";

/**
 * The outcome of a connection to the upstream not opened for want of file
 * descriptors: retried as any failed connection, not counted by the
 * breaker (`local`), and in the end a 503 with `Retry-After` (this service
 * is out of room for a moment), not a 502.
 */
export function noDescriptor(cause: unknown): Outcome {
  return {
    kind: "retry",
    local: true,
    error: new UpstreamError(
      503,
      "no file descriptor is free for a connection to the upstream",
      { retryAfterSeconds: 1, cause },
    ),
    report: { outcome: "retry" },
  };
}

/**
 * How `outcome` counts for the circuit breaker: a local failure counts
 * neither way (see {@linkcode noDescriptor}).
 */
export function breakerVerdict(outcome: Outcome): BreakerOutcome {
  if (outcome.kind !== "done" && outcome.local) return "abandoned";
  return isFailure(outcome.report) ? "failure" : "success";
}
