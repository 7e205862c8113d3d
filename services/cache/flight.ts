/**
 * Who loads a key: the {@linkcode Flight} the cache policy asks once per key
 * and process (its own single-flight joins the callers within a process).
 * {@linkcode localFlight} always loads here; the Redis flight
 * (`redis_flight.ts`) makes one instance of many load while the others wait
 * for its answer.
 *
 * @module
 */

import type { CacheEntry } from "./store.ts";

/** The answer of {@linkcode Flight.run}. */
export interface FlightResult {
  entry: CacheEntry;
  /** Whether `load` ran here (else another instance loaded the entry). */
  loadedHere: boolean;
}

/** Decides where a key is loaded. */
export interface Flight {
  /**
   * Resolves the entry for `key`: loaded here by `load` (which stores it),
   * or one another instance stored that `usable` accepts.
   */
  run(
    key: string,
    load: () => Promise<CacheEntry>,
    usable: (entry: CacheEntry) => boolean,
  ): Promise<FlightResult>;
}

/** Loads every key here: one process, nothing shared. */
export const localFlight: Flight = {
  async run(_key, load) {
    return { entry: await load(), loadedHere: true };
  },
};
