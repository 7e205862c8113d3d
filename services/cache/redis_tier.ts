/**
 * Assembles the shared cache tier for `REDIS_URL` on the instance's Redis
 * connections: the two-tier store (in-process LRU in front of Redis) and the
 * cross-instance single-flight, wired together.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import { RedisFlight } from "./redis_flight.ts";
import type { CacheStore } from "./store.ts";
import { TwoTierStore } from "./two_tier.ts";

/** Options of {@linkcode createRedisTier}. */
export interface RedisTierOptions {
  /** The instance's Redis connections (their owner closes them). */
  link: RedisLink;
  /** The in-process tier in front. */
  memory: CacheStore;
  /** Freshness of an entry, ms (the cache TTL). */
  freshMs: number;
  /**
   * Longest an instance waits for another's load, and the life of a lock
   * whose owner died, ms: what one upstream load may take.
   */
  lockMs: number;
  /** Where the store logs. */
  logger: Logger;
}

/** The shared tier: a store and a flight over one pair of connections. */
export interface RedisTier {
  readonly store: TwoTierStore;
  readonly flight: RedisFlight;
  readonly link: RedisLink;
}

/** Wires the shared tier on `link`. */
export function createRedisTier(options: RedisTierOptions): RedisTier {
  const { link, memory, freshMs, lockMs, logger } = options;
  const channel = "async-api:cache:filled";
  const store = new TwoTierStore({ memory, link, freshMs, logger });
  const flight = new RedisFlight({
    link,
    read: (key) => store.getShared(key),
    lockMs,
    channel,
    logger,
  });
  // Messages arrive only once subscribed, after `flight` exists.
  link.subscribe(channel, (key) => flight.announced(key));
  return { store, flight, link };
}
