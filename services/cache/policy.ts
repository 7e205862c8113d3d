/**
 * The response cache policy: freshness (TTL), single-flight loading (N
 * concurrent misses for one key make one upstream request),
 * stale-while-revalidate and stale-if-error, over a {@linkcode CacheStore}.
 * The in-memory store bounds its size in bytes with `lru-cache`; a shared
 * store (Redis) implements the same interface.
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import { type Logger, silentLogger } from "../ops/logger.ts";

/** A cached upstream answer. */
export interface CacheEntry {
  /** HTTP status of the upstream answer (200 or 404). */
  status: number;
  /** The body, byte for byte. */
  body: Uint8Array;
  /** The upstream `Content-Type`. */
  contentType: string;
  /** Strong entity tag derived from the body, with quotes. */
  etag: string;
  /** When the answer was received, in ms since the epoch. */
  storedAt: number;
}

/** Storage behind the cache: a key-value store with expiry and a size bound. */
export interface CacheStore {
  /** The entry under `key`, or `undefined`. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Stores `entry`; the store may drop it after `retainMs`. */
  set(key: string, entry: CacheEntry, retainMs: number): Promise<void>;
  /** Removes `key`. */
  delete(key: string): Promise<void>;
  /** Entries and bytes held now (for metrics); may be approximate. */
  stats(): { entries: number; bytes: number; evictions: number };
  /** Releases connections, if any. */
  close?(): Promise<void>;
}

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

  set(key: string, entry: CacheEntry, retainMs: number): Promise<void> {
    // An exact-size copy: a body read from the network is often a view of
    // a much larger buffer (64 KiB for a 300-byte answer), and keeping the
    // view would pin all of it while the bound counts only the view.
    const body = entry.body.slice();
    this.#lru.set(key, { ...entry, body }, { ttl: Math.max(1, retainMs) });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#lru.delete(key);
    return Promise.resolve();
  }

  stats(): { entries: number; bytes: number; evictions: number } {
    return {
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      evictions: this.#evictions,
    };
  }
}

/**
 * How a lookup was answered, for `Cache-Status` and logs:
 * - `hit`: fresh from the cache;
 * - `miss`: fetched now, this caller started the fetch;
 * - `collapsed`: fetched now, joined a fetch another caller started;
 * - `stale`: stale from the cache while a background refresh runs;
 * - `stale-if-error`: stale from the cache because the refresh failed.
 */
export type CacheOutcome =
  | "hit"
  | "miss"
  | "collapsed"
  | "stale"
  | "stale-if-error";

/** The answer of {@linkcode ResponseCache.get}. */
export interface CacheResult {
  entry: CacheEntry;
  outcome: CacheOutcome;
  /**
   * Seconds since the entry was stored, rounded down: the `Age` header.
   */
  ageSeconds: number;
  /**
   * The entry's freshness lifetime in whole seconds: the `max-age`. A
   * downstream cache counts it from `Age` (RFC 9111 4.2.3), so it is the
   * whole lifetime, never what is left of it.
   */
  lifetimeSeconds: number;
  /** Seconds of freshness left; negative when stale (`Cache-Status` ttl). */
  ttlSeconds: number;
  /** The upstream error that made a stale answer necessary. */
  error?: unknown;
}

/** What a loader returns: an upstream answer to cache. */
export interface Loaded {
  status: number;
  body: Uint8Array;
  contentType: string;
}

/** Options of {@linkcode ResponseCache}. */
export interface ResponseCacheOptions {
  /** Where entries live. */
  store: CacheStore;
  /** Freshness of an entry in seconds. @default {60} */
  ttlSeconds?: number;
  /** Stale-while-revalidate window past freshness, seconds. @default {60} */
  staleWhileRevalidateSeconds?: number;
  /** Stale-if-error window past freshness, seconds. @default {86400} */
  staleIfErrorSeconds?: number;
  /** Clock, for tests. @default {Date.now} */
  now?: () => number;
  /** Logs background refresh failures. */
  logger?: Logger;
  /** Observes each lookup (metrics). */
  onOutcome?: (outcome: CacheOutcome) => void;
}

/** Computes a strong entity tag from the bytes of a body. */
export async function etagOf(body: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>),
  );
  // 128 bits are plenty to tell versions apart and keep the header short.
  const b64 = btoa(String.fromCharCode(...digest.subarray(0, 16)))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `"${b64}"`;
}

/**
 * The cache policy. Loads are shared per key (single-flight) and run
 * detached from any one caller's signal: the first caller leaving must not
 * fail the others who joined.
 */
export class ResponseCache {
  readonly #store: CacheStore;
  readonly #ttlMs: number;
  readonly #swrMs: number;
  readonly #sieMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #onOutcome: ((outcome: CacheOutcome) => void) | undefined;
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  readonly #background = new Set<Promise<unknown>>();

  constructor(options: ResponseCacheOptions) {
    const {
      store,
      ttlSeconds = 60,
      staleWhileRevalidateSeconds = 60,
      staleIfErrorSeconds = 86400,
      now = Date.now,
      logger = silentLogger,
      onOutcome,
    } = options;
    for (
      const [name, value] of [
        ["ttlSeconds", ttlSeconds],
        ["staleWhileRevalidateSeconds", staleWhileRevalidateSeconds],
        ["staleIfErrorSeconds", staleIfErrorSeconds],
      ] as const
    ) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`${name} must be >= 0, got ${value}`);
      }
    }
    this.#store = store;
    this.#ttlMs = ttlSeconds * 1000;
    this.#swrMs = staleWhileRevalidateSeconds * 1000;
    this.#sieMs = staleIfErrorSeconds * 1000;
    this.#now = now;
    this.#logger = logger;
    this.#onOutcome = onOutcome;
  }

  /** The store underneath. */
  get store(): CacheStore {
    return this.#store;
  }

  /** Keys being loaded right now. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Looks `key` up; on a miss (or a stale entry) calls `load` once for all
   * concurrent callers.
   *
   * @throws whatever `load` threw, when no stale entry can stand in.
   */
  async get(key: string, load: () => Promise<Loaded>): Promise<CacheResult> {
    const cached = await this.#store.get(key);
    if (cached) {
      const age = this.#now() - cached.storedAt;
      if (age < this.#ttlMs) return this.#result(cached, "hit");
      if (age < this.#ttlMs + this.#swrMs) {
        if (!this.#inflight.has(key)) this.#revalidate(key, load);
        return this.#result(cached, "stale");
      }
    }
    const joined = this.#inflight.get(key);
    try {
      const entry = await (joined ?? this.#load(key, load));
      return this.#result(entry, joined ? "collapsed" : "miss");
    } catch (error) {
      if (
        cached && this.#now() - cached.storedAt < this.#ttlMs + this.#sieMs
      ) {
        return this.#result(cached, "stale-if-error", error);
      }
      throw error;
    }
  }

  /** Waits for background refreshes (used on shutdown and in tests). */
  async settled(): Promise<void> {
    while (this.#background.size > 0) {
      await Promise.allSettled([...this.#background]);
    }
  }

  #result(
    entry: CacheEntry,
    outcome: CacheOutcome,
    error?: unknown,
  ): CacheResult {
    this.#onOutcome?.(outcome);
    const ageMs = Math.max(0, this.#now() - entry.storedAt);
    return {
      entry,
      outcome,
      ageSeconds: Math.floor(ageMs / 1000),
      lifetimeSeconds: Math.floor(this.#ttlMs / 1000),
      // Rounded away from zero: a fresh entry shows its full ttl for the
      // first second (Age is rounded down, so Age + ttl stays the lifetime),
      // and a stale one shows as stale at once.
      ttlSeconds: ageMs <= this.#ttlMs
        ? Math.ceil((this.#ttlMs - ageMs) / 1000)
        : Math.floor((this.#ttlMs - ageMs) / 1000),
      ...(error === undefined ? {} : { error }),
    };
  }

  #load(key: string, load: () => Promise<Loaded>): Promise<CacheEntry> {
    const promise = (async () => {
      try {
        const loaded = await load();
        const entry: CacheEntry = {
          status: loaded.status,
          body: loaded.body,
          contentType: loaded.contentType,
          etag: await etagOf(loaded.body),
          storedAt: this.#now(),
        };
        await this.#store.set(
          key,
          entry,
          this.#ttlMs + Math.max(this.#swrMs, this.#sieMs),
        );
        return entry;
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, promise);
    return promise;
  }

  #revalidate(key: string, load: () => Promise<Loaded>): void {
    const refresh = this.#load(key, load).catch((error) => {
      // The stale entry stays; the next caller past the window retries.
      this.#logger.warn("cache.revalidate_failed", {
        key,
        error: error instanceof Error ? error.message : String(error),
      });
    });
    this.#background.add(refresh);
    refresh.finally(() => this.#background.delete(refresh));
  }
}
