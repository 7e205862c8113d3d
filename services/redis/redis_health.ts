/**
 * What one `RedisLink` knows of Redis's health, counted and told
 * in the log: reachability (down and up again, said once per change, and
 * each new kind of cause while down), commands that failed while connected
 * and commands that timed out (each said at most once per
 * {@linkcode FAILURE_LOG_EVERY_MS}), and the pause of
 * {@linkcode SLOW_PAUSE_MS} after a timeout, in which commands are not
 * worth sending, and the pause of {@linkcode FULL_PAUSE_MS} of writes after
 * an `OOM` refusal (reads go on). A link that flaps (more than {@linkcode FLAPS_TOLD} losses
 * in {@linkcode FLAP_WINDOW_MS}) has its further short losses counted in one
 * `cache.redis_flapping` line per {@linkcode COUNTED_LINE_EVERY_MS}: 150
 * `CLIENT KILL`s in 30 s wrote 652 lines, 2-3 a flap.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import { COUNTED_LINE_EVERY_MS, CountedLine } from "../ops/counted_line.ts";

/** After a command times out, Redis is left alone this long, ms. */
export const SLOW_PAUSE_MS = 1000;

/**
 * After Redis refused a write for want of memory (`OOM`: `maxmemory` with
 * `noeviction`), writes are not sent for this long, ms; then one is tried
 * again. Each cache miss sent two writes bound to be refused (the lock,
 * then the entry): 280 OOM replies for 149 requests.
 */
export const FULL_PAUSE_MS = 1000;

/** A failed command is logged at most once in this long, ms. */
export const FAILURE_LOG_EVERY_MS = 10_000;

/** Losses said one by one in {@linkcode FLAP_WINDOW_MS}; more are folded. */
export const FLAPS_TOLD = 5;

/** The window in which losses are counted to find a flapping link, ms. */
export const FLAP_WINDOW_MS = 60_000;

/**
 * A folded loss that lasts this long is an outage, said as any other, ms:
 * longer than a reconnection after a `CLIENT KILL` (50 ms), and as long as
 * the longest pause between reconnection attempts by default.
 */
export const FLAP_TOLD_AFTER_MS = 1000;

/**
 * What kind of error `error` is, for the log: a Redis error reply's code
 * (`WRONGPASS`, `NOAUTH`, `NOPERM`, `LOADING`; `maxclients` for Redis
 * refusing the connection at its `maxclients`), a system error's code
 * (`ECONNREFUSED`, `EPIPE`), else the error's name, or its message for a
 * plain `Error` (`Socket closed unexpectedly`).
 */
export function errorKind(error: Error): string {
  // Its code is a bare `ERR`, which told no operator to raise maxclients.
  // node-redis hands it over when AUTH (a password in REDIS_URL) takes the
  // reply; without one it is read again (`accept_reply.ts`).
  if (error.message.startsWith("ERR max number of clients reached")) {
    return "maxclients";
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") return code;
  const reply = /^([A-Z][A-Z_]{2,})\b/.exec(error.message)?.[1];
  // node-redis's own errors are mostly plain `Error`s: their message says.
  return reply ?? (error.name === "Error" ? error.message : error.name);
}

/** Kinds of reply by which Redis refuses this client its commands. */
const REFUSALS = new Set(["NOAUTH", "WRONGPASS", "NOPERM"]);

/**
 * Whether `error` is Redis refusing this client (a password required or
 * wrong, an ACL without the command): the connection is open and answers,
 * but no command of the cache will go through until an operator acts.
 */
export function isRefusal(error: Error): boolean {
  return REFUSALS.has(errorKind(error));
}

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
  #fullUntil = 0;
  #fullLoggedAt = -Infinity;
  #writesSkipped = 0;
  /** Writes skipped since the last `cache.redis_full` line. */
  #skippedUntold = 0;
  /** Whether the loss going on was said (a folded one is not, yet). */
  #told = true;
  /** The kinds of error seen since the loss going on began. */
  #kinds = new Set<string>();
  #firstKind = "";
  #lastError: Error | undefined;
  /** When the losses of the last {@linkcode FLAP_WINDOW_MS} began. */
  #losses: number[] = [];
  #tellTimer: ReturnType<typeof setTimeout> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #flaps: CountedLine<string>;

  constructor(options: RedisHealthOptions) {
    this.#logger = options.logger;
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs;
    this.#flaps = new CountedLine({
      logger: this.#logger,
      msg: "cache.redis_flapping",
      countsAs: "flaps",
    });
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

  /** Whether Redis refused a write for memory in the last {@linkcode FULL_PAUSE_MS}. */
  get full(): boolean {
    return performance.now() < this.#fullUntil;
  }

  /** Writes not sent so far, Redis being out of memory (see {@linkcode full}). */
  get writesSkipped(): number {
    return this.#writesSkipped;
  }

  /** Counts a write not sent in the pause after an `OOM` refusal. */
  skippedWrite(): void {
    this.#writesSkipped++;
    this.#skippedUntold++;
  }

  /**
   * Counts a write refused for want of memory (`OOM`), pauses the writes
   * for {@linkcode FULL_PAUSE_MS}, and says so at most once per
   * {@linkcode FAILURE_LOG_EVERY_MS}, with the writes skipped since the
   * line before (a `cache.redis_command_failed` line would say it too).
   */
  refusedForMemory(error: Error): void {
    this.#failures++;
    const now = performance.now();
    this.#fullUntil = now + FULL_PAUSE_MS;
    if (now - this.#fullLoggedAt < FAILURE_LOG_EVERY_MS) return;
    this.#fullLoggedAt = now;
    const skipped = this.#skippedUntold;
    this.#skippedUntold = 0;
    this.#logger.warn("cache.redis_full", {
      url: this.#url,
      error: error.message,
      writesSkipped: skipped,
      detail: `Redis is out of memory: writes (locks, entries) skipped for ` +
        `${FULL_PAUSE_MS} ms after each refusal, reads go on; said once per ` +
        `${FAILURE_LOG_EVERY_MS} ms, counted in ` +
        "cache_redis_writes_skipped_total",
    });
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
   * Counts a failed command without saying it: one the ACL refused, said
   * once by its command (`redis_denials.ts`).
   */
  counted(): void {
    this.#failures++;
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

  /**
   * Whether the link is down in a loss folded into the flapping count (not
   * said as `cache.redis_down`): what follows from it (a resubscription)
   * is not worth its own line either.
   */
  get folded(): boolean {
    return this.#state === "down" && !this.#told;
  }

  /**
   * A connection was lost: said once until Redis is reached again, each
   * new kind of cause while down said once more (the first error of a
   * password rotation is the socket closed, `WRONGPASS` comes after), and
   * a short loss of a flapping link only counted.
   */
  lost(error: Error): void {
    const kind = errorKind(error);
    if (this.#state === "down") {
      if (this.#kinds.has(kind)) return;
      this.#kinds.add(kind);
      if (this.#told) this.#sayCause(error, kind);
      else this.#lastError = error;
      return;
    }
    this.#state = "down";
    this.#kinds = new Set([kind]);
    this.#firstKind = kind;
    this.#lastError = error;
    const now = performance.now();
    this.#losses = this.#losses.filter((at) => now - at < FLAP_WINDOW_MS);
    this.#losses.push(now);
    if (this.#losses.length <= FLAPS_TOLD) {
      this.#sayDown();
      return;
    }
    this.#told = false;
    this.#tellTimer = setTimeout(() => {
      this.#tellTimer = undefined;
      this.#flaps.flush({ url: this.#url });
      this.#sayDown();
    }, FLAP_TOLD_AFTER_MS);
  }

  /** Both connections are open: said once after a loss (or the start). */
  regained(): void {
    if (this.#state === "up") return;
    const folded = this.folded;
    this.#state = "up";
    clearTimeout(this.#tellTimer);
    this.#tellTimer = undefined;
    if (!folded) {
      this.#logger.info("cache.redis_up", { url: this.#url });
      return;
    }
    this.#flaps.record(this.#firstKind, {
      url: this.#url,
      detail: `losses shorter than ${FLAP_TOLD_AFTER_MS} ms after ` +
        `${FLAPS_TOLD} in ${FLAP_WINDOW_MS} ms are counted here by their ` +
        "first error, and each demotes the in-memory tier; a longer one is " +
        "said as cache.redis_down",
    });
    // The last flaps of a burst are told 10 s on, not with the next flap.
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flaps.flush({ url: this.#url });
    }, COUNTED_LINE_EVERY_MS);
  }

  /** Says the flaps counted and not yet said, and stops the timers. */
  close(): void {
    clearTimeout(this.#tellTimer);
    clearTimeout(this.#flushTimer);
    this.#tellTimer = this.#flushTimer = undefined;
    this.#flaps.flush({ url: this.#url });
  }

  #sayDown(): void {
    this.#told = true;
    this.#logger.warn("cache.redis_down", {
      url: this.#url,
      error: this.#lastError?.message,
      kind: errorKind(this.#lastError ?? new Error()),
      detail: "the cache serves from memory and the upstream; streams of " +
        "other instances' uploads poll the storage",
    });
  }

  #sayCause(error: Error, kind: string): void {
    this.#logger.warn("cache.redis_down_cause", {
      url: this.#url,
      error: error.message,
      kind,
      detail: "Redis is still down, for another cause: each kind said " +
        "once until Redis is reached again",
    });
  }
}
