/**
 * Metrics of the shared cache tier: `cache_redis_up` (0/1) and
 * `cache_redis_timeouts_total` (Redis answers slower than
 * `REDIS_TIMEOUT_MS`, each served as a miss).
 *
 * @module
 */

import { Counter, Gauge, type Registry } from "prom-client";
import type { RedisLink } from "./redis_link.ts";

/** Registers the Redis tier's metrics on `registry`, read at scrape time. */
export function redisCacheMetrics(registry: Registry, link: RedisLink): void {
  const registers = [registry];
  new Gauge({
    name: "cache_redis_up",
    help:
      "1 when the shared cache tier (REDIS_URL) is connected, else 0 (the in-process tier and the upstream serve meanwhile)",
    registers,
    collect() {
      this.set(link.up ? 1 : 0);
    },
  });
  let counted = 0;
  new Counter({
    name: "cache_redis_timeouts_total",
    help:
      "Redis commands that took longer than REDIS_TIMEOUT_MS (each treated as a miss)",
    registers,
    collect() {
      // The link counts; the counter catches up at each scrape.
      const now = link.timeouts;
      this.inc(now - counted);
      counted = now;
    },
  });
}
