/**
 * The terms of a response-cache lookup (`policy.ts`): what a lookup
 * answers ({@linkcode CacheResult} and its {@linkcode CacheOutcome}), what a
 * loader gives it ({@linkcode Loaded}), and how a conditional refresh ended.
 *
 * @module
 */

import type { OriginValidators } from "../http/origin_validators.ts";
import type { Pagination } from "../http/pagination.ts";
import type { CacheEntry } from "./store.ts";

/**
 * How a lookup was answered, for `Cache-Status` and logs:
 * - `hit`: fresh from the cache;
 * - `miss`: fetched now, this caller started the fetch;
 * - `revalidated`: stale, and this caller's conditional request got a 304:
 *   the stored body, fresh again;
 * - `collapsed`: fetched now, joined a fetch another caller started;
 * - `stale`: stale from the cache while a background refresh runs;
 * - `stale-if-error`: stale from the cache because the refresh failed.
 */
export type CacheOutcome =
  | "hit"
  | "miss"
  | "revalidated"
  | "collapsed"
  | "stale"
  | "stale-if-error";

/** The answer of `ResponseCache.get` and `ResponseCache.hit`. */
export interface CacheResult {
  entry: CacheEntry;
  outcome: CacheOutcome;
  /**
   * The answer's current age (RFC 9111 4.2.3), the `Age` header: seconds
   * since the entry was stored, plus the age the upstream reported with it
   * (`CacheEntry.upstreamAgeMs`). Rounded up for an answer from the store
   * (`hit`, `stale`, `stale-if-error`), so a downstream copy never
   * outlives the entry; rounded down for one fetched now.
   */
  ageSeconds: number;
  /**
   * The entry's freshness lifetime in whole seconds: the `max-age`. A
   * downstream cache counts it from `Age` (RFC 9111 4.2.3), so it is the
   * whole lifetime, never what is left of it; 0 on a stale answer, so a
   * cache that reads `max-age` without `Age` does not keep it as fresh.
   */
  lifetimeSeconds: number;
  /**
   * Whole seconds of freshness left here (the TTL less the seconds since
   * the entry was stored, rounded up); negative when stale (`Cache-Status`
   * ttl).
   */
  ttlSeconds: number;
  /** The upstream error that made a stale answer necessary. */
  error?: unknown;
  /**
   * Set when the upstream forbade storing this answer (`no-store`,
   * `private`): its `Cache-Control`, to pass on so no one downstream keeps
   * it either.
   */
  unstoredCacheControl?: string;
  /**
   * Set when the upstream let this answer be stored but the cache did not
   * keep it (the store refused it, e.g. larger than `CACHE_MAX_BYTES`, or
   * a write dropped its key while it loaded): `Cache-Status` says
   * `stored=?0`; the headers are otherwise those of a stored answer.
   */
  unkept?: true;
}

/** What a loader returns: an upstream answer to cache. */
export interface Loaded {
  /** 200 or 404; 304 only to a conditional load (with validators). */
  status: number;
  /** The body (empty for a 304). */
  body: Uint8Array;
  contentType: string;
  /** The upstream's `ETag`/`Last-Modified`, to revalidate with later. */
  validators?: OriginValidators;
  /** The upstream's `Cache-Control`: `no-store`/`private` keep it out. */
  cacheControl?: string;
  /** The upstream's paging headers (`X-Total-Count`, `Link`) of a list. */
  pagination?: Pagination;
  /**
   * The answer's age when it arrived, ms, when the upstream sent an `Age`
   * (a CDN's copy): that `Age` plus the time the answer took.
   */
  ageMs?: number;
}

/**
 * What a load's callers get if it fails: `stale` (a stored copy stands in:
 * the load is a background refresh, or a miss within stale-if-error) or
 * the `error`.
 */
export interface LoadContext {
  ifFailed: "stale" | "error";
}

/**
 * Loads a key from the upstream; given `validators` (of a stale entry), a
 * conditional request that may answer 304.
 */
export type Loader = (
  validators: OriginValidators | undefined,
  context: LoadContext,
) => Promise<Loaded>;

/**
 * How a conditional refresh of a stale entry ended: `renewed` (304: the
 * stored body is current), `replaced` (a new answer), or `error`.
 */
export type RevalidationOutcome = "renewed" | "replaced" | "error";
