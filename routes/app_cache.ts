/**
 * The response cache of the app routes/app.ts composes, built from its
 * `Config`: in memory, with `REDIS_URL` a second tier in Redis. Its own
 * file, apart from the composition root, which grew near 400 lines.
 *
 * @module
 */

import { MemoryStore } from "../services/cache/memory_store.ts";
import {
  dropMetrics,
  redisCacheMetrics,
  revalidationMetrics,
} from "../services/cache/metrics.ts";
import {
  ResponseCache,
  type ResponseCacheOptions,
} from "../services/cache/policy.ts";
import { createRedisTier } from "../services/cache/redis_tier.ts";
import type { CacheStore } from "../services/cache/store.ts";
import type { Config } from "../services/ops/config.ts";
import type { Logger } from "../services/ops/logger.ts";
import type { Metrics } from "../services/ops/metrics.ts";
import type { RedisLink } from "../services/redis/redis_link.ts";
import { isShed } from "../services/upstream/error.ts";

/** What of the app's options the cache is built from. */
export interface CacheSetup {
  config: Config;
  logger: Logger;
  /** A store in place of the memory one (and Redis's): tests. */
  store?: CacheStore;
}

/**
 * The response cache: in memory, with REDIS_URL a second tier in Redis
 * shared by every instance (and its single-flight across them).
 */
export function createCache(
  options: CacheSetup,
  { metrics, link }: { metrics: Metrics; link: RedisLink | undefined },
  onOutcome: NonNullable<ResponseCacheOptions["onOutcome"]>,
): ResponseCache {
  const { config, logger } = options;
  const memory = new MemoryStore({ maxBytes: config.cacheMaxBytes });
  // With REDIS_URL, Redis is a second tier shared by every instance.
  const shared = link && !options.store
    ? createRedisTier({
      link,
      memory,
      freshMs: config.cacheTtlSeconds * 1000,
      // What one upstream load may take (UPSTREAM_TIMEOUT_MS is the budget
      // of all its attempts), and a second to store it.
      lockMs: config.upstreamTimeoutMs + 1000,
      logger,
    })
    : undefined;
  if (shared) {
    redisCacheMetrics(metrics.registry, shared.link, shared.store);
  }
  return new ResponseCache({
    onDrop: dropMetrics(metrics.registry),
    store: options.store ?? shared?.store ?? memory,
    ...(shared ? { flight: shared.flight } : {}),
    ttlSeconds: config.cacheTtlSeconds,
    staleWhileRevalidateSeconds: config.cacheStaleWhileRevalidateSeconds,
    staleIfErrorSeconds: config.cacheStaleIfErrorSeconds,
    logger,
    loggedElsewhere: isShed,
    onOutcome,
    onRevalidation: revalidationMetrics(metrics.registry),
  });
}
