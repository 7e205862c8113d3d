/**
 * Metrics of the response cache: lookups by outcome, the store's entries,
 * bytes and evictions, and, with a shared tier, `cache_redis_up` (0/1) and
 * `cache_redis_timeouts_total` (Redis answers slower than
 * `REDIS_TIMEOUT_MS`, each served as a miss) and
 * `cache_redis_command_errors_total` (commands answered with an error, also
 * misses; `cache_redis_command_denials_total{command}` those the ACL
 * refused, by command; `cache_redis_writes_skipped_total` writes not sent
 * while Redis refuses them for memory); all stores read at scrape
 * time; with a shared tier too, `cache_redis_silent_connections_total`
 * (connections whose PINGs went unanswered, replaced),
 * `cache_redis_resyncs_total` (memory tier demoted on resubscribing),
 * `cache_invalidations_unshared_total` and `cache_invalidations_pending`
 * (drops that could not reach Redis, tried again until they do).
 * `cache_revalidations_total` counts conditional refreshes of stale entries
 * by how they ended. Invalidations (writes, purges) and the entries they
 * dropped are counted by cause.
 *
 * @module
 */

import { Counter, type Registry } from "prom-client";
import { mirroredCounter, scrapedGauge } from "../ops/metric_helpers.ts";
import type { Dropped } from "./invalidation.ts";
import type { CacheOutcome, RevalidationOutcome } from "./lookup.ts";
import type { DropCause } from "./policy.ts";
import type { RedisLink } from "../redis/redis_link.ts";

/** What the store gauges read (a `CacheStore` fits). */
export interface CacheStatsSource {
  /** Entries, bytes held, and entries evicted so far. */
  stats(): { entries: number; bytes: number; evictions: number };
}

/**
 * Registers `cache_lookups_total`, `cache_entries`, `cache_bytes` and
 * `cache_evictions_total` on `registry`; returns the recorder of lookups.
 * `store` is called at scrape time, so it may name a store made later.
 */
export function cacheMetrics(
  registry: Registry,
  store: () => CacheStatsSource,
): (outcome: CacheOutcome) => void {
  // Plain counts, copied into the counter at scrape time: prom-client's
  // inc() hashes and validates its label object on every lookup.
  const counts = new Map<CacheOutcome, number>();
  new Counter({
    name: "cache_lookups_total",
    help:
      "Cache lookups by outcome: hit, miss, revalidated (stale, renewed now by a 304), stale (while revalidating), stale_if_error, collapsed (joined a fetch in flight)",
    labelNames: ["outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, n] of counts) {
        this.inc({ outcome: outcome.replaceAll("-", "_") }, n);
      }
    },
  });
  scrapedGauge(registry, {
    name: "cache_entries",
    help: "Entries in the cache store",
  }, () => store().stats().entries);
  scrapedGauge(registry, {
    name: "cache_bytes",
    help: "Bytes held by the cache store",
  }, () => store().stats().bytes);
  mirroredCounter(registry, {
    name: "cache_evictions_total",
    help: "Entries evicted to stay within CACHE_MAX_BYTES",
  }, () => store().stats().evictions);
  return (outcome) => counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
}

/**
 * Registers `cache_revalidations_total` on `registry`; returns its
 * recorder.
 */
export function revalidationMetrics(
  registry: Registry,
): (outcome: RevalidationOutcome) => void {
  const revalidations = new Counter({
    name: "cache_revalidations_total",
    help:
      "Conditional refreshes of stale entries with the upstream's ETag/Last-Modified, by outcome: renewed (304, the body stayed), replaced (a new answer), error",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of ["renewed", "replaced", "error"]) {
    revalidations.inc({ outcome }, 0);
  }
  return (outcome) => revalidations.inc({ outcome });
}

/** What the shared-drop metrics read (a `TwoTierStore` fits). */
export interface DropStatsSource {
  /** Resubscriptions, drops that failed to reach Redis, those pending. */
  dropStats(): { resyncs: number; unshared: number; pending: number };
}

/** Registers the Redis tier's metrics on `registry`, read at scrape time. */
export function redisCacheMetrics(
  registry: Registry,
  link: RedisLink,
  drops: DropStatsSource,
): void {
  scrapedGauge(registry, {
    name: "cache_redis_up",
    help:
      "1 when the shared cache tier (REDIS_URL) is connected, else 0 (the in-process tier and the upstream serve meanwhile)",
    // Under --parallel: 1 only when every worker is connected.
    aggregator: "min",
  }, () => link.up ? 1 : 0);
  // A count that only grows: a counter (promtool refuses a gauge named
  // `_total`).
  mirroredCounter(registry, {
    name: "cache_redis_timeouts_total",
    help:
      "Redis commands that took longer than REDIS_TIMEOUT_MS (each treated as a miss)",
  }, () => link.timeouts);
  mirroredCounter(registry, {
    name: "cache_redis_command_errors_total",
    help:
      "Redis commands that failed while connected (an error reply such as OOM or READONLY, or the connection lost mid-command; each treated as a miss)",
  }, () => link.failures);
  mirroredCounter(registry, {
    name: "cache_redis_writes_skipped_total",
    help: "Redis writes (locks, entries) skipped after an OOM refusal",
  }, () => link.writesSkipped);
  new Counter({
    name: "cache_redis_command_denials_total",
    help:
      "Redis commands refused by the ACL (NOPERM) or unknown to a Redis that renamed them, by command (script: one inside a Lua script); each is counted in cache_redis_command_errors_total too, and the first of each command is logged as cache.redis_command_denied with the ACL rule that grants it",
    labelNames: ["command"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [command, count] of link.denials) this.inc({ command }, count);
    },
  });
  mirroredCounter(registry, {
    name: "cache_redis_silent_connections_total",
    help:
      "Redis connections found silent (a PING or handshake unanswered by the second REDIS_PING_INTERVAL_MS period) and replaced; a silent subscriber demotes the in-memory tier",
  }, () => link.silentDeaths);
  mirroredCounter(registry, {
    name: "cache_redis_resyncs_total",
    help:
      "Times the Redis subscriber was subscribed again after a loss: drops announced meanwhile may have been missed, so the in-memory tier was demoted (revalidated before it is served, kept for stale-if-error)",
  }, () => drops.dropStats().resyncs);
  mirroredCounter(registry, {
    name: "cache_invalidations_unshared_total",
    help:
      "Invalidations that could not reach Redis (DEL or PUBLISH failed); each is tried again every second until it does",
  }, () => drops.dropStats().unshared);
  scrapedGauge(registry, {
    name: "cache_invalidations_pending",
    help:
      "Invalidations waiting to reach Redis: until then other instances and Redis may hold what they drop",
  }, () => drops.dropStats().pending);
}

/**
 * Registers `cache_invalidations_total` and `cache_invalidated_entries_total`
 * (by cause: `write`, a write passed through; `purge`, DELETE /cache);
 * returns their recorder.
 */
export function dropMetrics(
  registry: Registry,
): (cause: DropCause, dropped: Dropped) => void {
  const invalidations = new Counter({
    name: "cache_invalidations_total",
    help:
      "Invalidations by cause: write (a successful write passed through, RFC 9111 4.4) or purge (DELETE /cache)",
    labelNames: ["cause"],
    registers: [registry],
  });
  const entries = new Counter({
    name: "cache_invalidated_entries_total",
    help:
      "Entries dropped by invalidations, by cause (with Redis: found in Redis or this instance's memory)",
    labelNames: ["cause"],
    registers: [registry],
  });
  for (const cause of ["write", "purge"]) {
    invalidations.inc({ cause }, 0);
    entries.inc({ cause }, 0);
  }
  return (cause, dropped) => {
    invalidations.inc({ cause });
    entries.inc({ cause }, dropped.keys.length);
  };
}
