/**
 * The cache's clock: monotonic milliseconds (`performance.now()`), for
 * every duration the cache counts (freshness, stale windows, retention),
 * and the wall-clock time of one of its instants, for the headers that
 * need a date. The wall clock steps (NTP, a VM resumed, an operator's
 * `date -s`): an entry stored by it before a step back of an hour was
 * fresh, `Age` 0, for that hour more; after a step forward it was an hour
 * old at once. Instances' wall clocks also differ from each other, so no
 * instant crosses Redis as a time of this clock: see `two_tier.ts`.
 *
 * @module
 */

/** Now on the cache's clock: monotonic ms, meaningful in this process only. */
export function cacheNow(): number {
  return performance.now();
}

/**
 * The wall-clock time (ms since the epoch) of `at`, an instant of the
 * cache's clock, as of `now` on it and `wallNow` on the wall clock: the
 * time elapsed since then, counted monotonically, before the wall's now.
 */
export function wallTimeOf(
  at: number,
  now: number = cacheNow(),
  wallNow: number = Date.now(),
): number {
  return wallNow - (now - at);
}
