/**
 * The response cache policy: freshness (TTL), single-flight loading (N
 * concurrent misses for one key make one upstream request),
 * stale-while-revalidate and stale-if-error, over a {@linkcode CacheStore}.
 * A stale entry is refreshed with a conditional request when the upstream
 * gave validators: a 304 renews it without moving the body. An answer whose
 * `Cache-Control` says `no-store` or `private` is served but never stored;
 * every other answer (`no-cache` included) lives `ttlSeconds`.
 * The stores live in `store.ts` (the interface) and `memory_store.ts`; what
 * a lookup answers and a loader returns in `lookup.ts`; the HTTP form of a
 * lookup in `headers.ts`; a loaded answer as an entry in `loaded_entry.ts`.
 *
 * @module
 */

import { forbidsStoring } from "../http/cache_control.ts";
import { hasValidators } from "../http/origin_validators.ts";
import { describe } from "../ops/error_chain.ts";
import { type Logger, silentLogger } from "../ops/logger.ts";
import { cacheNow } from "./clock.ts";
import { type Flight, type FlightResult, localFlight } from "./flight.ts";
import { type Dropped, type KeyRule, keyTest } from "./invalidation.ts";
import { entryOf, renewedEntry } from "./loaded_entry.ts";
import type {
  CacheOutcome,
  CacheResult,
  LoadContext,
  Loaded,
  Loader,
  RevalidationOutcome,
} from "./lookup.ts";
import type { CacheEntry, CacheStore } from "./store.ts";

/** Why entries were dropped: a write passed through, or a purge. */
export type DropCause = "write" | "purge";

/** A load in flight; a drop that names its key supersedes it. */
interface Ticket {
  superseded: boolean;
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
  /**
   * Clock: monotonic ms (clock.ts), for tests. Ages and windows are
   * durations: on the wall clock a step back of an hour kept every entry
   * fresh, `Age` 0, for that hour. @default {cacheNow}
   */
  now?: () => number;
  /** Logs background refresh failures. */
  logger?: Logger;
  /** Refresh failures not to log: their source logs them (calls shed). */
  loggedElsewhere?: (error: unknown) => boolean;
  /** Observes each lookup (metrics). */
  onOutcome?: (outcome: CacheOutcome) => void;
  /** Observes each conditional refresh (metrics). */
  onRevalidation?: (outcome: RevalidationOutcome) => void;
  /** Observes each invalidation (metrics). */
  onDrop?: (cause: DropCause, dropped: Dropped) => void;
  /**
   * Who loads a missing key: here, or one instance of those sharing a
   * Redis (`redis_flight.ts`). @default {localFlight}
   */
  flight?: Flight;
}

/**
 * The cache policy. Loads are shared per key (single-flight) and run
 * detached from any one caller's signal: the first caller leaving must not
 * fail the others who joined.
 */
export class ResponseCache {
  readonly #store: CacheStore;
  readonly #ttlMs: number;
  /** The TTL in the whole seconds of `max-age`. */
  readonly #lifetime: number;
  readonly #swrMs: number;
  readonly #sieMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #loggedElsewhere: (error: unknown) => boolean;
  readonly #onOutcome: ((outcome: CacheOutcome) => void) | undefined;
  readonly #onRevalidation:
    | ((outcome: RevalidationOutcome) => void)
    | undefined;
  readonly #onDrop: ResponseCacheOptions["onDrop"];
  readonly #flight: Flight;
  readonly #inflight = new Map<string, Promise<FlightResult>>();
  readonly #tickets = new Map<string, Ticket>();
  readonly #background = new Set<Promise<unknown>>();
  /** Answers served but not stored, with the `Cache-Control` that said so. */
  readonly #unstored = new WeakMap<CacheEntry, string>();
  /** Entries renewed by a 304 (their `Cache-Status` says so). */
  readonly #renewals = new WeakSet<CacheEntry>();
  /**
   * Answers the upstream let us store that were not kept: the store
   * refused them (larger than its bound, Redis refusing too), or a drop
   * superseded their load. Their `Cache-Status` says `stored=?0`.
   */
  readonly #unkept = new WeakSet<CacheEntry>();

  constructor(options: ResponseCacheOptions) {
    const {
      store,
      ttlSeconds = 60,
      staleWhileRevalidateSeconds = 60,
      staleIfErrorSeconds = 86400,
      now = cacheNow,
      logger = silentLogger,
      loggedElsewhere = () => false,
      onOutcome,
      onRevalidation,
      onDrop,
      flight = localFlight,
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
    this.#lifetime = Math.floor(ttlSeconds);
    this.#swrMs = staleWhileRevalidateSeconds * 1000;
    this.#sieMs = staleIfErrorSeconds * 1000;
    this.#now = now;
    this.#logger = logger;
    this.#loggedElsewhere = loggedElsewhere;
    this.#onOutcome = onOutcome;
    this.#onRevalidation = onRevalidation;
    this.#onDrop = onDrop;
    this.#flight = flight;
    store.watchDrops?.((rule) => this.#supersede(rule));
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
   * A fresh hit the store can tell at once (held in memory), or
   * `undefined`: then {@linkcode ResponseCache.get} answers. The hot path
   * of a cached GET, with no promise to wait on. `now` is the time on the
   * cache's clock when the caller read it already (the route reads
   * `performance.now()` once for this and its `Server-Timing`).
   */
  hit(key: string, now: number = this.#now()): CacheResult | undefined {
    // One clock read per hit (the caller's), for the store's freshness
    // check, this one and the `Age` alike.
    const cached = this.#store.peek?.(key, now);
    if (cached === undefined) return undefined;
    if (!this.#fresh(now - cached.storedAt)) return undefined;
    return this.#result(cached, "hit", now);
  }

  /**
   * Looks `key` up; on a miss (or a stale entry) calls `load` once for all
   * concurrent callers.
   *
   * @throws whatever `load` threw, when no stale entry can stand in.
   */
  async get(key: string, load: Loader): Promise<CacheResult> {
    const cached = await this.#store.get(key);
    // An unconfirmed entry (a drop naming it may have been missed) is
    // loaded again before it is served, and stands in only on an error.
    if (cached && cached.unconfirmed !== true) {
      const now = this.#now();
      const age = now - cached.storedAt;
      if (this.#fresh(age)) return this.#result(cached, "hit", now);
      if (age < this.#ttlMs + this.#swrMs) {
        if (!this.#inflight.has(key)) this.#revalidate(key, load, cached);
        return this.#result(cached, "stale", now);
      }
    }
    const joined = this.#inflight.get(key);
    try {
      const { entry, loadedHere } = await (joined ??
        this.#load(key, load, cached, this.#ifFailed(cached)));
      // Loaded by another instance: this caller joined its fetch.
      const now = this.#now();
      if (joined || !loadedHere) {
        return this.#result(entry, "collapsed", now);
      }
      return this.#result(
        entry,
        this.#renewals.has(entry) ? "revalidated" : "miss",
        now,
      );
    } catch (error) {
      if (this.#ifFailed(cached) === "stale") {
        return this.#result(cached!, "stale-if-error", this.#now(), error);
      }
      throw error;
    }
  }

  /** Whether `cached` stands in now if a load fails (stale-if-error). */
  #ifFailed(cached: CacheEntry | undefined): LoadContext["ifFailed"] {
    return cached && this.#now() - cached.storedAt < this.#ttlMs + this.#sieMs
      ? "stale"
      : "error";
  }

  /**
   * Drops the entries `rule` names (RFC 9111 4.4 after a write, or a
   * purge): from the store (with a shared tier, in every instance), and
   * loads in flight for them are neither joined by later callers nor
   * stored, as they may carry what was there before.
   */
  async invalidate(rule: KeyRule, cause: DropCause): Promise<Dropped> {
    this.#supersede(rule);
    const dropped = await this.#store.drop(rule);
    this.#onDrop?.(cause, dropped);
    return dropped;
  }

  #supersede(rule: KeyRule): void {
    const named = keyTest(rule);
    for (const [key, ticket] of this.#tickets) {
      if (!named(key)) continue;
      ticket.superseded = true;
      this.#tickets.delete(key);
      this.#inflight.delete(key);
    }
  }

  /**
   * Whether an entry `residentMs` old is fresh here: while the `Age` it
   * goes out with (whole seconds, rounded up: `#result`) is below its
   * `max-age`, so a browser or a shared cache finds every hit fresh too
   * (RFC 9111 4.2.1). Counted in milliseconds, an entry in the last second
   * of its TTL was a hit sent at `Age` = `max-age`: stale on arrival.
   * That second is the stale-while-revalidate window's now (served at
   * once, refreshed behind), or a miss without one. With a TTL of 1 s no
   * hit can go out fresh (`Age: 1`, `max-age=1`); there it counts in
   * milliseconds still, else every request would refresh the entry.
   */
  #fresh(residentMs: number): boolean {
    if (residentMs >= this.#ttlMs) return false;
    return this.#lifetime <= 1 || Math.ceil(residentMs / 1000) < this.#lifetime;
  }

  /** Waits for background refreshes (used on shutdown and in tests). */
  async settled(): Promise<void> {
    while (this.#background.size > 0) {
      await Promise.allSettled([...this.#background]);
    }
  }

  /** What a lookup answers, with the entry's age as of `now`. */
  #result(
    entry: CacheEntry,
    outcome: CacheOutcome,
    now: number,
    error?: unknown,
  ): CacheResult {
    this.#onOutcome?.(outcome);
    const residentMs = Math.max(0, now - entry.storedAt);
    const lifetime = this.#lifetime;
    const stale = outcome === "stale" || outcome === "stale-if-error";
    // An answer from the store counts its age up to the next second, so a
    // downstream cache, which keeps it max-age minus Age, lets it go by
    // the time the entry here goes (rounded down, chromium and Varnish kept
    // it up to a second past that); one fetched for this request is as old
    // as its storing took, milliseconds: 0.
    const round = stale || outcome === "hit" ? Math.ceil : Math.floor;
    const residentSeconds = round(residentMs / 1000);
    const result: CacheResult = {
      entry,
      outcome,
      // The current age of RFC 9111 4.2.3: the age the upstream reported
      // counts too, so a downstream cache keeps the answer no longer than
      // max-age from when the upstream's origin made it.
      ageSeconds: entry.upstreamAgeMs === undefined
        ? residentSeconds
        : round((residentMs + entry.upstreamAgeMs) / 1000),
      // A stale answer says max-age=0: its Age past max-age tells a cache
      // that it is stale, but nginx (1.22) reads max-age alone and kept a
      // stale-if-error answer as fresh for the whole TTL.
      lifetimeSeconds: stale ? 0 : lifetime,
      // Whole seconds left here, rounded down as the time here is rounded
      // up (negative once stale).
      ttlSeconds: lifetime - residentSeconds,
    };
    // Set only when there is one (rarely): spreading conditional objects
    // into the literal built it on a slow path on every hit.
    if (error !== undefined) result.error = error;
    const unstored = this.#unstored.get(entry);
    if (unstored !== undefined) result.unstoredCacheControl = unstored;
    else if (this.#unkept.has(entry)) result.unkept = true;
    return result;
  }

  #load(
    key: string,
    load: Loader,
    stale: CacheEntry | undefined,
    ifFailed: LoadContext["ifFailed"],
  ): Promise<FlightResult> {
    const ticket: Ticket = { superseded: false };
    this.#tickets.set(key, ticket);
    const promise = (async () => {
      try {
        return await this.#flight.run(
          key,
          () => this.#fetch(key, load, { stale, ifFailed }, ticket),
          // Another instance's entry stands in only while fresh.
          (entry) => this.#fresh(this.#now() - entry.storedAt),
        );
      } finally {
        // A superseded load's key may be loading afresh already.
        if (this.#tickets.get(key) === ticket) {
          this.#tickets.delete(key);
          this.#inflight.delete(key);
        }
      }
    })();
    this.#inflight.set(key, promise);
    return promise;
  }

  /**
   * Loads `key` (conditionally when `stale` has validators) and stores the
   * answer: a 304 renews `stale` in place, `no-store`/`private` keep it out
   * (and drop `stale`), and so does a drop naming `key` meanwhile.
   */
  async #fetch(
    key: string,
    load: Loader,
    { stale, ifFailed }: { stale: CacheEntry | undefined } & LoadContext,
    ticket: Ticket,
  ): Promise<CacheEntry> {
    const validators = stale?.validators;
    const conditional = validators !== undefined && hasValidators(validators);
    let loaded: Loaded;
    try {
      loaded = await load(conditional ? validators : undefined, { ifFailed });
    } catch (error) {
      if (conditional) this.#onRevalidation?.("error");
      throw error;
    }
    if (loaded.status === 304 && !(conditional && stale)) {
      throw new TypeError(`a 304 answered an unconditional load of ${key}`);
    }
    const renewal = loaded.status === 304;
    if (conditional) this.#onRevalidation?.(renewal ? "renewed" : "replaced");
    const entry = renewal
      ? renewedEntry(stale!, loaded, this.#now())
      : await entryOf(loaded, this.#now);
    if (renewal) this.#renewals.add(entry);
    if (forbidsStoring(loaded.cacheControl)) {
      this.#unstored.set(entry, loaded.cacheControl!);
      if (stale) await this.#store.delete(key);
      return entry;
    }
    // Its callers get it; the cache does not keep what a write replaced.
    const retainMs = this.#ttlMs + Math.max(this.#swrMs, this.#sieMs);
    const kept = !ticket.superseded &&
      await (renewal
        ? this.#store.renew(key, entry, retainMs)
        : this.#store.set(key, entry, retainMs));
    if (!kept) this.#unkept.add(entry);
    return entry;
  }

  #revalidate(key: string, load: Loader, stale: CacheEntry): void {
    // Its callers have the stale copy, which stays: the next caller past the
    // window retries. A shed refresh is in the client's throttled line.
    const refresh = this.#load(key, load, stale, "stale").catch((error) => {
      if (this.#loggedElsewhere(error)) return;
      this.#logger.warn("cache.revalidate_failed", {
        key,
        error: describe(error), // with its causes: why it failed
      });
    });
    this.#background.add(refresh);
    refresh.finally(() => this.#background.delete(refresh));
  }
}
