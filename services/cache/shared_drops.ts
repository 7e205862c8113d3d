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
 * arrives. A message lost (the subscriber reconnecting) leaves the other
 * instances' memory copies until their TTL; Redis itself is clean.
 *
 * @module
 */

import { z } from "zod";
import { type Logger, silentLogger } from "../ops/logger.ts";
import {
  type Dropped,
  type KeyRule,
  KeyRuleSchema,
  keysMatching,
} from "./invalidation.ts";
import type { RedisLink } from "./redis_link.ts";
import type { CacheStore } from "./store.ts";

/** How long a store to Redis is remembered, ms (see the module doc). */
export const RECENT_MS = 5_000;
const RECENT_MAX = 10_000;
const SCAN_COUNT = 1_000;

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
  /** Clock, for tests. @default {Date.now} */
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

  constructor(options: SharedDropsOptions) {
    const {
      link,
      memory,
      prefix,
      channel = "async-api:cache:dropped",
      logger = silentLogger,
      now = Date.now,
    } = options;
    this.#link = link;
    this.#memory = memory;
    this.#prefix = prefix;
    this.#channel = channel;
    this.#logger = logger;
    this.#now = now;
    link.subscribe(channel, (message) => this.#received(message));
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
      await this.#deleteMatching(rule, keys);
      const message = JSON.stringify({ from: this.#id, rule });
      await this.#link.call((redis) => redis.publish(this.#channel, message));
      return { keys, scope: "shared" };
    } catch (error) {
      this.#logger.warn("cache.drop_not_shared", {
        rule,
        error: error instanceof Error ? error.message : String(error),
        detail: "entries in Redis stay until their TTL",
      });
      return { keys, scope: "local" };
    }
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
    let message: z.infer<typeof MessageSchema>;
    try {
      message = MessageSchema.parse(JSON.parse(text));
    } catch {
      return;
    }
    if (message.from === this.#id) return;
    const { rule } = message;
    for (const listener of this.#listeners) listener(rule);
    void this.#memory.drop(rule);
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
