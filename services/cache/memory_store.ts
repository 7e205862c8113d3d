/**
 * The in-process {@linkcode CacheStore}: an LRU bounded by bytes
 * (`lru-cache`), with no timers held open.
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import type { Pagination } from "../http/pagination.ts";
import { cacheNow } from "./clock.ts";
import { type Dropped, type KeyRule, keysMatching } from "./invalidation.ts";
import type { CacheEntry, CacheStore } from "./store.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Bound of the store in bytes: what its entries cost the process, each
   * counted by {@linkcode entryBytes}.
   */
  maxBytes: number;
}

/**
 * What a stored entry costs the process beyond the characters and bytes
 * {@linkcode entryBytes} counts one by one: the entry record, the
 * `Uint8Array` and its `ArrayBuffer` (V8 objects plus the buffer's native
 * backing store and its allocation), the string headers, the validators
 * record and the LRU's map slot and per-entry arrays, plus the slack the
 * V8 heap keeps around what is live. Measured with Deno 2.9 (100k entries
 * of a 2-byte body, after GC): ~650 bytes of heap and ~300 of native
 * memory live, ~1.4 KiB of resident memory per entry, strings included.
 * Whatever an entry gains (a reply prepared for the hot path, say) must be
 * counted here too: tests/memory_test.ts checks the count against what
 * entries hold.
 */
export const ENTRY_OVERHEAD_BYTES = 1280;

/**
 * What an entry under `key` is counted for against the bound: its body,
 * the characters of its key and of the strings it keeps (one byte each:
 * they are ASCII), and {@linkcode ENTRY_OVERHEAD_BYTES}. An empty body
 * (a 404) shares one buffer, but is counted the same: the bound must hold
 * for a flood of distinct keys whatever the upstream answers.
 */
export function entryBytes(key: string, entry: CacheEntry): number {
  const { validators, pagination } = entry;
  return entry.body.byteLength + key.length + entry.contentType.length +
    entry.etag.length + (validators?.etag?.length ?? 0) +
    (validators?.lastModified?.length ?? 0) +
    (pagination === undefined ? 0 : paginationBytes(pagination)) +
    ENTRY_OVERHEAD_BYTES;
}

// What one `Link` element costs beyond its strings: the pair's array (a
// JS array of two, ~48 bytes) and the list's slot, rounded up.
const LINK_ELEMENT_BYTES = 64;

/** The bytes an entry's paging headers hold (see {@linkcode entryBytes}). */
function paginationBytes({ totalCount, links }: Pagination): number {
  let bytes = totalCount?.length ?? 0;
  for (const [path, params] of links ?? []) {
    bytes += path.length + params.length + LINK_ELEMENT_BYTES;
  }
  return bytes;
}

/**
 * An entry as the store holds it: with the time it may go. The store
 * keeps its retention itself rather than through lru-cache's TTL, which
 * reads `performance.now()` on every get (about half a microsecond in a
 * VM, on every cached GET); a hit's freshness check reads the clock once
 * already (policy.ts).
 */
interface Held extends CacheEntry {
  /** `cacheNow()` from which the entry is gone (`retainMs` after set). */
  readonly dropAt: number;
}

/** When an entry set now with `retainMs` goes (1 ms at least). */
function dropAtOf(retainMs: number): number {
  return cacheNow() + Math.max(1, retainMs);
}

/** The body of every empty answer (404s): one buffer, not one each. */
const EMPTY = new Uint8Array(0);

/** Content types kept once and shared by the entries that carry them. */
const CONTENT_TYPES_KEPT = 16;

/**
 * Keys tested between two turns of the event loop in a drop (~2 ms here,
 * on a loaded 2-core machine).
 */
export const DROP_SLICE = 4096;

/** An in-process {@linkcode CacheStore}: an LRU bounded by bytes. */
export class MemoryStore implements CacheStore {
  readonly #lru: LRUCache<string, Held>;
  /** A few content types, each one string for all its entries. */
  readonly #contentTypes = new Map<string, string>();
  #evictions = 0;

  constructor(options: MemoryStoreOptions) {
    const { maxBytes } = options;
    checkWholeNumbers({ maxBytes });
    this.#lru = new LRUCache<string, Held>({
      maxSize: maxBytes,
      sizeCalculation: (entry, key) => entryBytes(key, entry),
      // Entries larger than the whole bound are simply not stored.
      maxEntrySize: maxBytes,
      // No TTL here: each entry carries its own `dropAt` (see Held), so
      // lru-cache neither reads the clock on every get nor holds timers.
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.#evictions++;
      },
    });
  }

  get(key: string): Promise<CacheEntry | undefined> {
    const held = this.#lru.get(key);
    if (held === undefined || held.dropAt > cacheNow()) {
      return Promise.resolve(held);
    }
    // Past its retention: dropped when touched (no timers held open).
    this.#lru.delete(key);
    return Promise.resolve(undefined);
  }

  /**
   * The entry under `key`, maybe past its retention: no clock read on the
   * hot path. The caller judges freshness by `storedAt`, and an entry is
   * retained at least as long as it is fresh (see `CacheStore.peek`).
   */
  peek(key: string): CacheEntry | undefined {
    return this.#lru.get(key);
  }

  set(key: string, entry: CacheEntry, retainMs: number): Promise<boolean> {
    // An exact-size copy: a body read from the network is often a view of
    // a much larger buffer (64 KiB for a 300-byte answer), and keeping the
    // view would pin all of it while the bound counts only the view. A body
    // that is its whole buffer (one decoded from Redis) is kept as is.
    const { body: given } = entry;
    const body = given.byteLength === 0
      ? EMPTY
      : given.byteOffset === 0 && given.buffer.byteLength === given.byteLength
      ? given
      : given.slice();
    return this.#keep(key, {
      ...entry,
      body,
      contentType: this.#shared(entry.contentType),
      dropAt: dropAtOf(retainMs),
    });
  }

  /**
   * Sets `held` under `key`, and whether the LRU kept it: one larger than
   * the whole bound it refuses (and drops what was under `key`).
   */
  #keep(key: string, held: Held): Promise<boolean> {
    this.#lru.set(key, held);
    return Promise.resolve(this.#lru.peek(key) === held);
  }

  /**
   * `contentType` as the one string entries share: a flood of entries of
   * one type (all of them, from JSONPlaceholder) keeps one copy of it, not
   * one each. The first few types seen are kept, never more.
   */
  #shared(contentType: string): string {
    const known = this.#contentTypes.get(contentType);
    if (known !== undefined) return known;
    if (this.#contentTypes.size < CONTENT_TYPES_KEPT) {
      this.#contentTypes.set(contentType, contentType);
    }
    return contentType;
  }

  renew(key: string, entry: CacheEntry, retainMs: number): Promise<boolean> {
    // The body came out of a store (this one, or decoded from Redis into
    // an exact-size copy): it is kept as is, no second copy made (the
    // record is, for its own `dropAt`).
    return this.#keep(key, { ...entry, dropAt: dropAtOf(retainMs) });
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
    // Those past their retention are gone already: not dropped by this.
    const now = cacheNow();
    const all: string[] = [];
    for (const [key, held] of this.#lru.entries()) {
      if (held.dropAt > now) all.push(key);
    }
    const keys: string[] = [];
    for (let start = 0; start < all.length; start += DROP_SLICE) {
      if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      const slice = keysMatching(rule, all.slice(start, start + DROP_SLICE));
      for (const key of slice) this.#lru.delete(key);
      keys.push(...slice);
    }
    return { keys, scope: "local" };
  }

  /**
   * Replaces every entry by its copy marked `unconfirmed`, least recent
   * first so the LRU keeps its order, in slices as `drop` walks them; one
   * set meanwhile (a newer answer) stays as it is. The copies cost what
   * the entries did: same body, same count.
   */
  async demote(): Promise<void> {
    const all: [string, Held][] = [];
    for (const key of this.#lru.rkeys()) all.push([key, this.#lru.peek(key)!]);
    for (let start = 0; start < all.length; start += DROP_SLICE) {
      if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      for (const [key, held] of all.slice(start, start + DROP_SLICE)) {
        if (held.unconfirmed || this.#lru.peek(key) !== held) continue;
        this.#lru.set(key, { ...held, unconfirmed: true });
      }
    }
  }

  stats(): { entries: number; bytes: number; evictions: number } {
    return {
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      evictions: this.#evictions,
    };
  }
}
