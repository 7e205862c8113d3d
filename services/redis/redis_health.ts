/**
 * What one `RedisLink` knows of Redis's health, counted and told
 * in the log: reachability (down and up again, said once per change),
 * commands that failed while connected and commands that timed out (each
 * said at most once per {@linkcode FAILURE_LOG_EVERY_MS}), and the pause of
 * {@linkcode SLOW_PAUSE_MS} after a timeout, in which commands are not
 * worth sending.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";

/** After a command times out, Redis is left alone this long, ms. */
export const SLOW_PAUSE_MS = 1000;

/** A failed command is logged at most once in this long, ms. */
export const FAILURE_LOG_EVERY_MS = 10_000;

/** Options of {@linkcode RedisHealth}. */
export interface RedisHealthOptions {
  /** Where the changes are said. */
  logger: Logger;
  /** The Redis URL as logged (no password). */
  url: string;
  /** A command's timeout, ms, as logged with a timeout. */
  timeoutMs: number;
}

/** The counts, the pause and the log lines of one link's health. */
export class RedisHealth {
  readonly #logger: Logger;
  readonly #url: string;
  readonly #timeoutMs: number;
  #state: "starting" | "up" | "down" = "starting";
  #timeouts = 0;
  #failures = 0;
  #failureLoggedAt = -Infinity;
  #slowLoggedAt = -Infinity;
  #slowUntil = 0;

  constructor(options: RedisHealthOptions) {
    this.#logger = options.logger;
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Commands that took longer than the timeout so far. */
  get timeouts(): number {
    return this.#timeouts;
  }

  /** Commands that failed while connected so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether a command timed out in the last {@linkcode SLOW_PAUSE_MS}. */
  get slow(): boolean {
    return performance.now() < this.#slowUntil;
  }

  /**
   * Counts a failed command, and says so at most once per
   * {@linkcode FAILURE_LOG_EVERY_MS}: each is served as a miss, so a Redis
   * refusing every write (an `OOM` reply) left the shared tier storing
   * nothing while `cache_redis_up` said 1, and nothing told.
   */
  failed(error: unknown): void {
    this.#failures++;
    const now = performance.now();
    if (now - this.#failureLoggedAt < FAILURE_LOG_EVERY_MS) return;
    this.#failureLoggedAt = now;
    this.#logger.warn("cache.redis_command_failed", {
      url: this.#url,
      error: error instanceof Error ? error.message : String(error),
      detail: "served as a miss; said once per " +
        `${FAILURE_LOG_EVERY_MS} ms, counted in cache_redis_command_errors_total`,
    });
  }

  /**
   * Counts a command that timed out, pauses the commands, and says so at
   * most once per {@linkcode FAILURE_LOG_EVERY_MS}: a Redis stalling in
   * bursts (a fork for a snapshot, a slow command, a paused VM) made each
   * instance load keys itself, and only `cache_redis_timeouts_total` told.
   */
  timedOut(): void {
    this.#timeouts++;
    const now = performance.now();
    this.#slowUntil = now + SLOW_PAUSE_MS;
    if (now - this.#slowLoggedAt < FAILURE_LOG_EVERY_MS) return;
    this.#slowLoggedAt = now;
    this.#logger.warn("cache.redis_slow", {
      url: this.#url,
      timeoutMs: this.#timeoutMs,
      detail: `served as a miss, commands skipped for ${SLOW_PAUSE_MS} ms; ` +
        `said once per ${FAILURE_LOG_EVERY_MS} ms, counted in ` +
        "cache_redis_timeouts_total",
    });
  }

  /** A connection was lost: said once until Redis is reached again. */
  lost(error: Error): void {
    if (this.#state === "down") return;
    this.#state = "down";
    this.#logger.warn("cache.redis_down", {
      url: this.#url,
      error: error.message,
      detail: "the cache serves from memory and the upstream; streams of " +
        "other instances' uploads poll the storage",
    });
  }

  /** Both connections are open: said once after a loss (or the start). */
  regained(): void {
    if (this.#state === "up") return;
    this.#state = "up";
    this.#logger.info("cache.redis_up", { url: this.#url });
  }
}
