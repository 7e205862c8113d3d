/**
 * A log line for an event that comes once per request under a flood (a
 * call shed, a download given up on): written at most every
 * {@linkcode COUNTED_LINE_EVERY_MS}, with how many happened (by reason)
 * since the line before. The request's access line already tells each
 * one; a line each beside it doubled a flood's log (331 `response.stalled`
 * lines, with no request id, for `slowhttptest -X` readers; 67,766
 * `request.failed` lines for shed misses) while saying nothing more.
 *
 * @module
 */

import type { LogFields, Logger } from "./logger.ts";

/** Least time between two lines. */
export const COUNTED_LINE_EVERY_MS = 10_000;

/** The levels a counted line may have. */
export type CountedLevel = "info" | "warn" | "error";

/** Options of {@linkcode CountedLine}. */
export interface CountedLineOptions {
  /** Where the lines go. */
  logger: Logger;
  /** The line's `msg`. */
  msg: string;
  /** The line's level. @default {"warn"} */
  level?: CountedLevel;
  /** The field holding the counts by reason. @default {"counts"} */
  countsAs?: string;
  /** Least time between two lines. @default {COUNTED_LINE_EVERY_MS} */
  everyMs?: number;
}

/** Counts events by reason and says so in one throttled line. */
export class CountedLine<Reason extends string> {
  readonly #logger: Logger;
  readonly #msg: string;
  readonly #level: CountedLevel;
  readonly #countsAs: string;
  readonly #everyMs: number;
  #loggedAt = -Infinity;
  /** Counted since the last line, by reason. */
  #pending: Partial<Record<Reason, number>> = {};

  constructor(options: CountedLineOptions) {
    const {
      logger,
      msg,
      level = "warn",
      countsAs = "counts",
      everyMs = COUNTED_LINE_EVERY_MS,
    } = options;
    if (!Number.isFinite(everyMs) || everyMs < 0) {
      throw new RangeError(`everyMs must be a non-negative number: ${everyMs}`);
    }
    if (!["info", "warn", "error"].includes(level)) {
      throw new RangeError(`level must be info, warn or error: ${level}`);
    }
    this.#logger = logger;
    this.#msg = msg;
    this.#level = level;
    this.#countsAs = countsAs;
    this.#everyMs = everyMs;
  }

  /**
   * Counts one event for `reason`; logs the counts when the last line is
   * old enough, with `fields` (the event's own: its request id, its
   * error). Those counted after a burst's last line are told with the next
   * event (no timer is kept for them).
   */
  record(reason: Reason, fields: LogFields = {}): void {
    this.#pending[reason] = (this.#pending[reason] ?? 0) + 1;
    if (performance.now() - this.#loggedAt < this.#everyMs) return;
    this.#write({ ...fields, reason });
  }

  /**
   * Logs what was counted since the last line, if anything: the tail of a
   * burst, which {@linkcode CountedLine.record} alone leaves untold until
   * the next event (for a caller that keeps a timer, or is closing).
   */
  flush(fields: LogFields = {}): void {
    if (Object.keys(this.#pending).length > 0) this.#write(fields);
  }

  #write(fields: LogFields): void {
    this.#loggedAt = performance.now();
    const counts = this.#pending;
    this.#pending = {};
    this.#logger[this.#level](this.#msg, {
      ...fields,
      [this.#countsAs]: counts,
      nextLineAfterMs: this.#everyMs,
    });
  }
}
