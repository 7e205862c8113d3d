/**
 * The storage interface behind the response cache: {@linkcode CacheEntry}
 * and {@linkcode CacheStore}. The in-memory store implements it today; a
 * shared store (Redis) will be a second implementation.
 *
 * @module
 */

import type { OriginValidators } from "../http/origin_validators.ts";
import type { Pagination } from "../http/pagination.ts";
import type { Dropped, KeyRule } from "./invalidation.ts";

/** A cached upstream answer. */
export interface CacheEntry {
  /** HTTP status of the upstream answer (200 or 404). */
  status: number;
  /** The body, byte for byte. */
  body: Uint8Array;
  /** The upstream `Content-Type`. */
  contentType: string;
  /** Strong entity tag derived from the body, with quotes (ours). */
  etag: string;
  /**
   * When the answer was received, or last confirmed current by the
   * upstream (a 304), on the cache's monotonic clock (`cacheNow()`,
   * clock.ts): meaningful in this process only.
   */
  storedAt: number;
  /**
   * How old the answer already was at `storedAt`, ms: the age its
   * upstream reported (`Age`, corrected by the time the answer took; RFC
   * 9111 4.2.3), counted into the `Age` sent on. Absent: 0, the origin's
   * own answer. Freshness here is counted from `storedAt` all the same.
   */
  upstreamAgeMs?: number;
  /** The upstream's own `ETag`/`Last-Modified`, to revalidate with. */
  validators?: OriginValidators;
  /**
   * The upstream's paging headers of a list; a renewal (304) keeps them,
   * since the body, and so the count, is the same.
   */
  pagination?: Pagination;
  /**
   * Set by a store on an entry it holds but can no longer vouch for (it
   * may have missed a drop naming it, see `CacheStore.demote`): never
   * served fresh nor while a refresh runs, it is loaded again on the next
   * request (conditionally, with its validators) and stands in only as
   * stale-if-error. A renewal (304) clears it.
   */
  unconfirmed?: true;
}

/** Storage behind the cache: a key-value store with expiry and a size bound. */
export interface CacheStore {
  /** The entry under `key`, or `undefined`. */
  get(key: string): Promise<CacheEntry | undefined>;
  /**
   * The entry under `key` when this process holds it and can tell at
   * once, else `undefined` (then `get` decides): lets a memory hit be
   * answered without waiting on a promise. It may be past `retainMs`: the
   * caller judges freshness by `storedAt` (the policy retains an entry at
   * least as long as it is fresh). `now`, the time on the cache's clock
   * read by the caller, is for a store that judges freshness itself.
   */
  peek?(key: string, now?: number): CacheEntry | undefined;
  /**
   * Stores `entry`; the store may drop it after `retainMs`. Resolves
   * whether it kept the entry: `false` when it refused it (larger than its
   * bound, its backend unreachable), which `Cache-Status` then tells.
   */
  set(key: string, entry: CacheEntry, retainMs: number): Promise<boolean>;
  /**
   * Stores `entry`, a renewal of the one under `key` (same body, new
   * `storedAt`): the body is neither copied nor sent again where the store
   * can avoid it. Resolves whether it kept the entry, as `set`.
   */
  renew(key: string, entry: CacheEntry, retainMs: number): Promise<boolean>;
  /** Removes `key`. */
  delete(key: string): Promise<void>;
  /**
   * Removes every entry `rule` names (with a shared tier: everywhere).
   */
  drop(rule: KeyRule): Promise<Dropped>;
  /**
   * Calls `listener` with each rule another instance dropped (shared
   * stores only).
   */
  watchDrops?(listener: (rule: KeyRule) => void): void;
  /**
   * Marks every entry held now {@linkcode CacheEntry.unconfirmed}: kept
   * for stale-if-error, never served again without asking the upstream
   * (shared stores, when drops may have been missed).
   */
  demote?(): Promise<void>;
  /** Entries and bytes held now (for metrics); may be approximate. */
  stats(): { entries: number; bytes: number; evictions: number };
  /** Releases connections, if any. */
  close?(): Promise<void>;
}
