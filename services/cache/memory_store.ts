/**
 * The in-process {@linkcode CacheStore}: an LRU bounded by bytes
 * (`lru-cache`), with no timers held open.
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import { type Dropped, type KeyRule, keysMatching } from "./invalidation.ts";
import type { CacheEntry, CacheStore } from "./store.ts";

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /** Bound of the store in bytes (bodies plus keys plus overhead). */
  maxBytes: number;
}

/**
 * What a stored entry costs the process beyond its body and key: the
 * ArrayBuffer and its backing-store bookkeeping, the typed array, the entry
 * object, its etag and content-type strings and the LRU's slots (~450 bytes
 * measured with Deno 2.9). Counting it keeps many tiny entries within the
 * bound.
 */
export const ENTRY_OVERHEAD_BYTES = 512;

/**
 * Keys tested between two turns of the event loop in a drop (~2 ms here,
 * on a loaded 2-core machine).
 */
export const DROP_SLICE = 4096;

/** An in-process {@linkcode CacheStore}: an LRU bounded by bytes. */
export class MemoryStore implements CacheStore {
  readonly #lru: LRUCache<string, CacheEntry>;
  #evictions = 0;

  constructor(options: MemoryStoreOptions) {
    const { maxBytes } = options;
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`maxBytes must be a positive integer: ${maxBytes}`);
    }
    this.#lru = new LRUCache<string, CacheEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry, key) =>
        entry.body.byteLength + key.length + ENTRY_OVERHEAD_BYTES,
      // Entries larger than the whole bound are simply not stored.
      maxEntrySize: maxBytes,
      // Expired entries are dropped when touched, not by timers, so the
      // store holds no timers open.
      ttlAutopurge: false,
      // 0 reads the clock on each check instead of caching it behind a
      // timer: no timers held open, and a clock read is cheap.
      ttlResolution: 0,
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.#evictions++;
      },
    });
  }

  get(key: string): Promise<CacheEntry | undefined> {
    return Promise.resolve(this.#lru.get(key));
  }

  peek(key: string): CacheEntry | undefined {
    return this.#lru.get(key);
  }

  set(key: string, entry: CacheEntry, retainMs: number): Promise<void> {
    // An exact-size copy: a body read from the network is often a view of
    // a much larger buffer (64 KiB for a 300-byte answer), and keeping the
    // view would pin all of it while the bound counts only the view. A body
    // that is its whole buffer (one decoded from Redis) is kept as is.
    const { body: given } = entry;
    const body = given.byteOffset === 0 &&
        given.buffer.byteLength === given.byteLength
      ? given
      : given.slice();
    this.#lru.set(key, { ...entry, body }, { ttl: Math.max(1, retainMs) });
    return Promise.resolve();
  }

  renew(key: string, entry: CacheEntry, retainMs: number): Promise<void> {
    // The body came out of a store (this one, or decoded from Redis into
    // an exact-size copy): it is kept as is, no second copy made.
    this.#lru.set(key, entry, { ttl: Math.max(1, retainMs) });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#lru.delete(key);
    return Promise.resolve();
  }

  /**
   * Walks every key (a snapshot: deleting while iterating skips keys), in
   * slices of {@linkcode DROP_SLICE} with a turn of the event loop between
   * them, so a large cache does not hold every other request meanwhile.
   */
  async drop(rule: KeyRule): Promise<Dropped> {
    const all = [...this.#lru.keys()];
    const keys: string[] = [];
    for (let start = 0; start < all.length; start += DROP_SLICE) {
      if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      const slice = keysMatching(rule, all.slice(start, start + DROP_SLICE));
      for (const key of slice) this.#lru.delete(key);
      keys.push(...slice);
    }
    return { keys, scope: "local" };
  }

  stats(): { entries: number; bytes: number; evictions: number } {
    return {
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      evictions: this.#evictions,
    };
  }
}
