/**
 * The log of requests answered 503 because the file storage failed them
 * (an S3 store down, a folder read-only or gone): one
 * `files.storage_unavailable` error line in full (the request's id and the
 * error), then at most one every {@linkcode UNAVAILABLE_LOG_EVERY_MS} while
 * the failures are of the same kind, each telling how many were answered so
 * since the line before (`repeated`). An outage fails every request to the
 * files, and a line each wrote 5,260 error lines (6 MB, each with its
 * stack) in 8 s of `wrk -c8` on `GET /files` and `GET /files/:id` with
 * radosgw stopped. The access line still gives every such request's 503
 * and its id.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";

/** Least time between two lines about failures of one kind. */
export const UNAVAILABLE_LOG_EVERY_MS = 10_000;

/** Options of {@linkcode UnavailableLog}. */
export interface UnavailableLogOptions {
  /** Where the lines go. */
  logger: Logger;
  /** Least time between two lines of one kind. @default {UNAVAILABLE_LOG_EVERY_MS} */
  everyMs?: number;
}

/** Throttles `files.storage_unavailable`, counting what it does not say. */
export class UnavailableLog {
  readonly #logger: Logger;
  readonly #everyMs: number;
  #loggedAt = -Infinity;
  /** The kind (error name) of the last line: another kind is said at once. */
  #kind: string | undefined;
  /** Failures since the last line, not logged. */
  #repeated = 0;

  constructor(options: UnavailableLogOptions) {
    const { logger, everyMs = UNAVAILABLE_LOG_EVERY_MS } = options;
    if (!Number.isFinite(everyMs) || everyMs < 0) {
      throw new RangeError(`everyMs must be a non-negative number: ${everyMs}`);
    }
    this.#logger = logger;
    this.#everyMs = everyMs;
  }

  /**
   * Logs the failure of request `requestId` with `error`, or counts it when
   * a line of its kind was written within `everyMs`. Those counted after a
   * burst's last line are told with the next failure (no timer is kept).
   */
  record(requestId: string, error: unknown): void {
    const kind = error instanceof Error ? error.name : typeof error;
    const now = performance.now();
    if (kind === this.#kind && now - this.#loggedAt < this.#everyMs) {
      this.#repeated++;
      return;
    }
    const repeated = this.#repeated;
    this.#kind = kind;
    this.#loggedAt = now;
    this.#repeated = 0;
    this.#logger.error("files.storage_unavailable", {
      requestId,
      error,
      ...(repeated > 0 ? { repeated } : {}),
      nextLineAfterMs: this.#everyMs,
    });
  }
}
