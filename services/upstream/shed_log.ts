/**
 * The log of calls shed before they reached the upstream: one
 * `upstream.shed` warning at most every {@linkcode SHED_LOG_EVERY_MS}, with
 * how many were shed (by reason) since the line before. Shedding is the
 * upstream's bound working under a flood of misses, and it comes once per
 * request: a line each (an error line, beside the request's access line)
 * wrote 67,766 error lines in 30 s of distinct keys against the real
 * JSONPlaceholder (wrk -c200). The access line still gives every such
 * request's 503, and `upstream_shed_total` the exact counts.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import type { ShedReason } from "./events.ts";

/** Least time between two `upstream.shed` lines. */
export const SHED_LOG_EVERY_MS = 10_000;

/** Options of {@linkcode ShedLog}. */
export interface ShedLogOptions {
  /** Where the lines go. */
  logger: Logger;
  /** Least time between two lines. @default {SHED_LOG_EVERY_MS} */
  everyMs?: number;
}

/** Counts shed calls and says so in one throttled line. */
export class ShedLog {
  readonly #logger: Logger;
  readonly #everyMs: number;
  #loggedAt = -Infinity;
  /** Shed since the last line, by reason. */
  #pending: Partial<Record<ShedReason, number>> = {};

  constructor(options: ShedLogOptions) {
    const { logger, everyMs = SHED_LOG_EVERY_MS } = options;
    if (!Number.isFinite(everyMs) || everyMs < 0) {
      throw new RangeError(`everyMs must be a non-negative number: ${everyMs}`);
    }
    this.#logger = logger;
    this.#everyMs = everyMs;
  }

  /**
   * Counts one call shed for `reason`; logs the counts when the last line
   * is old enough. Those counted after a burst's last line are told with
   * the next shed call (no timer is kept for them).
   */
  record(reason: ShedReason): void {
    this.#pending[reason] = (this.#pending[reason] ?? 0) + 1;
    const now = performance.now();
    if (now - this.#loggedAt < this.#everyMs) return;
    this.#loggedAt = now;
    const shed = this.#pending;
    this.#pending = {};
    this.#logger.warn("upstream.shed", {
      reason,
      shed,
      nextLineAfterMs: this.#everyMs,
    });
  }
}
