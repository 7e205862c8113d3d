/**
 * Invalidation across the instances sharing a Redis. Dropping a rule here
 * deletes the matching keys from Redis (found by `SCAN`, which walks every
 * cache key: a cost in the number of entries, paid per write or purge) and
 * publishes the rule; every other instance then drops its in-memory copies
 * and tells its cache policy, so loads in flight there are not stored.
 *
 * One race is left to close: another instance may store an entry it began
 * loading before the write, after our `DEL` but before our message reached
 * it. So each instance remembers what it stored in Redis in the last
 * {@linkcode RECENT_MS}, and deletes what of it a rule names when the rule
 * arrives.
 *
 * Two gaps a lost connection opens are closed too. A message published
 * while an instance's subscriber was down never reaches it: so each time
 * the subscriber is subscribed again, the instance demotes its whole
 * memory tier (`CacheStore.demote`): no entry is served again before Redis
 * vouches for it (the writer's `DEL` cleaned Redis) or the upstream is
 * asked, yet each stays for stale-if-error. Dropping them, as before, left
 * nothing to serve when the upstream failed and Redis came back empty
 * from a restart. A subscriber found silent (its PINGs unanswered: a dead
 * path, maybe from this instance only, while the writer still reaches
 * Redis) demotes the memory tier at once too: none of it can be confirmed
 * while Redis cannot answer, and what the upstream gives meanwhile is
 * newer.
 * And a drop that could not reach Redis (`DEL` or `PUBLISH` failed) leaves
 * the entries in Redis and in the other instances' memory: it is kept and
 * tried again every {@linkcode RETRY_MS} until it goes through (a bounded
 * list; past {@linkcode PENDING_MAX} rules, one rule dropping everything).
 *
 * @module
 */

import { z } from "zod";
import { parseJsonWith } from "../ops/json_text.ts";
import { type Logger, silentLogger } from "../ops/logger.ts";
import {
  type Dropped,
  type KeyRule,
  KeyRuleSchema,
  keysMatching,
} from "./invalidation.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import { cacheNow } from "./clock.ts";
import type { CacheStore } from "./store.ts";

/** How long a store to Redis is remembered, ms (see the module doc). */
export const RECENT_MS = 5_000;
const RECENT_MAX = 10_000;
const SCAN_COUNT = 1_000;
/** Pause between attempts to share a drop that failed, ms. */
export const RETRY_MS = 1_000;
/** Drops kept for another attempt; past it, one rule drops everything. */
export const PENDING_MAX = 1_000;
/** Every cache key (keys are paths): what a resubscription drops. */
export const EVERY_KEY: KeyRule = Object.freeze({ prefixes: ["/"] });

const MessageSchema = z.object({ from: z.string(), rule: KeyRuleSchema });

/** Options of {@linkcode SharedDrops}. */
export interface SharedDropsOptions {
  /** The Redis connections. */
  link: RedisLink;
  /** The in-process tier, whose copies a remote drop removes. */
  memory: CacheStore;
  /** Prefix of the cache keys in Redis. */
  prefix: string;
  /** The channel of drops. @default {"async-api:cache:dropped"} */
  channel?: string;
  /** Logs a drop that could not reach Redis. */
  logger?: Logger;
  /** Clock: monotonic ms (clock.ts), for tests. @default {cacheNow} */
  now?: () => number;
}

/** Drops in Redis, announced to every instance. */
export class SharedDrops {
  readonly #id = crypto.randomUUID();
  readonly #link: RedisLink;
  readonly #memory: CacheStore;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #recent = new Map<string, number>();
  readonly #listeners = new Set<(rule: KeyRule) => void>();
  /** Drops not shared yet, by their JSON. */
  readonly #pending = new Map<string, KeyRule>();
  #retry: ReturnType<typeof setTimeout> | undefined;
  #epoch = 0;
  #resyncs = 0;
  #unshared = 0;
  #subscribedBefore = false;
  #closed = false;

  constructor(options: SharedDropsOptions) {
    const {
      link,
      memory,
      prefix,
      channel = "async-api:cache:dropped",
      logger = silentLogger,
      now = cacheNow,
    } = options;
    this.#link = link;
    this.#memory = memory;
    this.#prefix = prefix;
    this.#channel = channel;
    this.#logger = logger;
    this.#now = now;
    link.subscribe(channel, (message) => this.#received(message));
    link.onSubscribed(() => this.#resync());
    link.onSilent(() => this.#demote());
  }

  /**
   * Changes each time memory copies were dropped on another instance's
   * word (a message, or a resubscription): a read of Redis that began
   * before a change may carry what was dropped, and is not kept in memory.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Counts for metrics: resubscriptions that dropped the memory tier,
   * drops that could not reach Redis at first, and those still waiting.
   */
  stats(): { resyncs: number; unshared: number; pending: number } {
    return {
      resyncs: this.#resyncs,
      unshared: this.#unshared,
      pending: this.#pending.size,
    };
  }

  /** Calls `listener` with each rule another instance dropped. */
  watch(listener: (rule: KeyRule) => void): void {
    this.#listeners.add(listener);
  }

  /** Notes that `key` was just stored in Redis by this instance. */
  stored(key: string): void {
    const now = this.#now();
    this.#recent.delete(key);
    this.#recent.set(key, now);
    for (const [old, at] of this.#recent) {
      if (at > now - RECENT_MS && this.#recent.size <= RECENT_MAX) break;
      this.#recent.delete(old);
    }
  }

  /**
   * Deletes the keys `rule` names from Redis and announces the rule.
   * Resolves the keys found; `scope` is `local` when Redis failed.
   */
  async drop(rule: KeyRule): Promise<Dropped> {
    const keys: string[] = [];
    try {
      await this.#share(rule, keys);
      return { keys, scope: "shared" };
    } catch (error) {
      this.#unshared++;
      this.#logger.warn("cache.drop_not_shared", {
        rule,
        error: error instanceof Error ? error.message : String(error),
        detail: `tried again every ${RETRY_MS} ms until Redis answers`,
      });
      this.#postpone(rule);
      return { keys, scope: "local" };
    }
  }

  /** Stops the retries. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** Deletes the keys `rule` names from Redis, then announces it. */
  async #share(rule: KeyRule, found: string[]): Promise<void> {
    await this.#deleteMatching(rule, found);
    const message = JSON.stringify({ from: this.#id, rule });
    await this.#link.call((redis) => redis.publish(this.#channel, message));
  }

  #postpone(rule: KeyRule): void {
    let kept = rule;
    if (this.#pending.size >= PENDING_MAX) {
      this.#pending.clear();
      kept = EVERY_KEY;
    }
    this.#pending.set(JSON.stringify(kept), kept);
    if (!this.#closed) {
      this.#retry ??= setTimeout(() => this.#retryPending(), RETRY_MS);
    }
  }

  /**
   * Shares the pending drops again. One that goes through is applied here
   * too: since it failed, this instance may have re-read from Redis what
   * the drop names (e.g. after its own resubscription).
   */
  async #retryPending(): Promise<void> {
    for (const [json, rule] of [...this.#pending]) {
      try {
        await this.#share(rule, []);
      } catch {
        break; // Redis still away: the next attempt tries them all.
      }
      this.#pending.delete(json);
      this.#apply(rule);
      this.#logger.info("cache.drop_shared_late", { rule });
    }
    this.#retry = this.#pending.size > 0 && !this.#closed
      ? setTimeout(() => this.#retryPending(), RETRY_MS)
      : undefined;
  }

  /**
   * The subscriber is subscribed again (or for the first time): drops
   * announced while it was away were missed, so nothing in memory can be
   * shown current; it is all demoted, and loads in flight are not stored.
   */
  #resync(): void {
    const { entries } = this.#memory.stats();
    this.#demote();
    // The first subscription demotes what was stored before Redis answered
    // (as unproven), but is no reconnection: neither counted nor logged.
    if (!this.#subscribedBefore) {
      this.#subscribedBefore = true;
      return;
    }
    this.#resyncs++;
    // A flap's resubscription is counted in cache.redis_flapping's line.
    if (this.#link.flapping) return;
    this.#logger.info("cache.redis_resubscribed", {
      entries,
      detail:
        "the in-memory tier is demoted: each entry is confirmed with Redis or the upstream before it is served, and kept for stale-if-error",
    });
  }

  /**
   * Memory may hold what a missed drop named: every entry is demoted
   * (dropped, where the tier cannot), and loads in flight are not stored,
   * as for a drop of every key.
   */
  #demote(): void {
    this.#forget(
      EVERY_KEY,
      (memory) => memory.demote?.() ?? memory.drop(EVERY_KEY),
    );
  }

  /** Drops `rule`'s memory copies here, on another instance's word. */
  #apply(rule: KeyRule): void {
    this.#forget(rule, (memory) => memory.drop(rule));
  }

  /**
   * What memory holds under `rule` is no longer current: the epoch moves
   * (loads in flight are not stored), the listeners hear of `rule`, and
   * `inMemory` demotes or drops the copies.
   */
  #forget(rule: KeyRule, inMemory: (memory: CacheStore) => unknown): void {
    this.#epoch++;
    for (const listener of this.#listeners) listener(rule);
    void inMemory(this.#memory);
  }

  /** Walks the cache keys (`SCAN`), deleting the matching ones. */
  async #deleteMatching(rule: KeyRule, found: string[]): Promise<void> {
    let cursor = "0";
    do {
      const reply = await this.#link.call((redis) =>
        redis.scan(cursor, { MATCH: `${this.#prefix}*`, COUNT: SCAN_COUNT })
      );
      cursor = String(reply.cursor);
      const keys = keysMatching(
        rule,
        reply.keys.map((key) => String(key).slice(this.#prefix.length)),
      );
      if (keys.length === 0) continue;
      await this.#link.call((redis) =>
        redis.del(keys.map((key) => this.#prefix + key))
      );
      found.push(...keys);
    } while (cursor !== "0");
  }

  #received(text: string): void {
    const message = parseJsonWith(MessageSchema, text);
    if (message === undefined || message.from === this.#id) return;
    const { rule } = message;
    this.#apply(rule);
    const since = this.#now() - RECENT_MS;
    const mine = keysMatching(
      rule,
      [...this.#recent].filter(([, at]) => at > since).map(([key]) => key),
    );
    if (mine.length === 0) return;
    this.#link.call((redis) => redis.del(mine.map((key) => this.#prefix + key)))
      .catch(() => {
        // They expire by themselves.
      });
  }
}
