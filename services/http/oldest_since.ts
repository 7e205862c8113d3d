/**
 * The entries of a registry of waits that have waited longest: the one
 * choice behind ending slow request bodies (slow_bodies.ts) and stalled
 * answers (stall_timeout.ts) for room, when a server out of descriptors
 * has no idle connection left to close.
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/**
 * Up to `count` keys of `since` (each key with when it began to wait, ms
 * of `performance.now()`) that have waited at least `minAgeMs`, longest
 * first. The map keeps insertion order and each key is put in when its
 * wait begins, so the oldest are its first entries and the walk stops at
 * the first one too young. Throws `RangeError` unless `count` is a
 * positive integer and `minAgeMs` a finite number >= 0.
 */
export function oldestSince<K>(
  since: ReadonlyMap<K, number>,
  count: number,
  minAgeMs: number,
): K[] {
  checkWholeNumbers({ count });
  if (!Number.isFinite(minAgeMs) || minAgeMs < 0) {
    throw new RangeError(`minAgeMs must be 0 or more: ${minAgeMs}`);
  }
  const before = performance.now() - minAgeMs;
  const oldest: K[] = [];
  for (const [key, began] of since) {
    if (oldest.length === count || began > before) break;
    oldest.push(key);
  }
  return oldest;
}
