/**
 * Assembles the shared cache tier for `REDIS_URL`: the Redis connections,
 * the two-tier store (in-process LRU in front of Redis) and the
 * cross-instance single-flight, wired together.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import { RedisFlight } from "./redis_flight.ts";
import { RedisLink } from "../redis/redis_link.ts";
import type { CacheStore } from "./store.ts";
import { TwoTierStore } from "./two_tier.ts";

/** Options of {@linkcode createRedisTier}. */
export interface RedisTierOptions {
  /** `REDIS_URL`. */
  url: string;
  /** The in-process tier in front. */
  memory: CacheStore;
  /** Freshness of an entry, ms (the cache TTL). */
  freshMs: number;
  /** Longest wait for one Redis command, ms (`REDIS_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Period of the liveness PINGs, ms (`REDIS_PING_INTERVAL_MS`). */
  pingIntervalMs: number;
  /**
   * Longest an instance waits for another's load, and the life of a lock
   * whose owner died, ms: what one upstream load may take.
   */
  lockMs: number;
  /** Logs Redis going away and coming back. */
  logger: Logger;
}

/** The shared tier: a store and a flight over one pair of connections. */
export interface RedisTier {
  readonly store: TwoTierStore;
  readonly flight: RedisFlight;
  readonly link: RedisLink;
}

/** Connects (in the background) and wires the shared tier. */
export function createRedisTier(options: RedisTierOptions): RedisTier {
  const { url, memory, freshMs, timeoutMs, pingIntervalMs, lockMs, logger } =
    options;
  const channel = "async-api:cache:filled";
  const link = new RedisLink({
    url,
    timeoutMs,
    pingIntervalMs,
    channel,
    logger,
    // Messages arrive only once subscribed, after `flight` exists.
    onMessage: (key) => flight.announced(key),
  });
  const store = new TwoTierStore({ memory, link, freshMs, logger });
  const flight = new RedisFlight({
    link,
    read: (key) => store.getShared(key),
    lockMs,
    channel,
  });
  return { store, flight, link };
}
