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

import { COUNTED_LINE_EVERY_MS, CountedLine } from "../ops/counted_line.ts";
import type { Logger } from "../ops/logger.ts";
import type { ShedReason } from "./events.ts";

/** Least time between two `upstream.shed` lines. */
export const SHED_LOG_EVERY_MS = COUNTED_LINE_EVERY_MS;

/** Options of {@linkcode ShedLog}. */
export interface ShedLogOptions {
  /** Where the lines go. */
  logger: Logger;
  /** Least time between two lines. @default {SHED_LOG_EVERY_MS} */
  everyMs?: number;
}

/** Counts shed calls and says so in one throttled `upstream.shed` line. */
export class ShedLog extends CountedLine<ShedReason> {
  constructor(options: ShedLogOptions) {
    const { logger, everyMs = SHED_LOG_EVERY_MS } = options;
    super({ logger, everyMs, msg: "upstream.shed", countsAs: "shed" });
  }
}
