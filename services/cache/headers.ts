/**
 * The HTTP form of a cache lookup: `Cache-Control` (RFC 9111), `Age`,
 * `Cache-Status` (RFC 9211), `Server-Timing`, and the 200/304/412 answer
 * with the request's `If-Match` and `If-None-Match` (RFC 9110 13.2.2).
 *
 * @module
 */

import {
  evaluatePreconditions,
  formatHttpDate,
  preconditionFailed,
} from "../http/conditional.ts";
import { addPaginationHeaders } from "../http/pagination.ts";
import { isReply, type Reply } from "../http/reply.ts";
import { memoByNumber, memoLast } from "../http/value_memo.ts";
import { cacheNow, wallTimeOf } from "./clock.ts";
import type { CacheResult } from "./lookup.ts";
import type { CacheEntry } from "./store.ts";

/** Name of this cache in `Cache-Status` (RFC 9211). */
export const CACHE_NAME = "async-api";

/**
 * The RFC 9211 `Cache-Status` value of a lookup. An answer the upstream
 * forbade storing, or the store did not keep, says `stored=?0` (the
 * structured-field false).
 */
export function cacheStatus(result: CacheResult): string {
  if (result.outcome === "hit") return hitStatus(result.ttlSeconds);
  const ttl = `ttl=${result.ttlSeconds}`;
  const unstored = result.unstoredCacheControl !== undefined ||
    result.unkept === true;
  const stored = unstored ? "stored=?0" : "stored";
  switch (result.outcome) {
    case "miss":
      return `${CACHE_NAME}; fwd=miss; ${stored}`;
    case "revalidated":
      return `${CACHE_NAME}; fwd=stale; fwd-status=304; ${stored}`;
    case "collapsed":
      return `${CACHE_NAME}; fwd=miss; collapsed${
        unstored ? "; stored=?0" : ""
      }`;
    case "stale":
      return `${CACHE_NAME}; fwd=stale; ${ttl}; detail="stale-while-revalidate"`;
    case "stale-if-error": {
      const status = (result.error as { upstreamStatus?: number } | undefined)
        ?.upstreamStatus;
      const fwdStatus = status === undefined ? "" : `; fwd-status=${status}`;
      return `${CACHE_NAME}; fwd=stale${fwdStatus}; ${ttl}; detail="stale-if-error"`;
    }
  }
}

/**
 * `Cache-Control` of a cached answer. `max-age` is the freshness lifetime,
 * not what is left of it: a downstream cache subtracts `Age` itself (RFC
 * 9111 4.2.3), so sending the remainder next to `Age` would count the time
 * in this cache twice.
 */
export function cacheControl(lifetimeSeconds: number): string {
  return publicMaxAge(Math.max(0, lifetimeSeconds));
}

// The hot path's values, each one string while its number stays (the
// lifetime is the TTL; the TTL left moves once a second).
const publicMaxAge = memoLast((seconds) => `public, max-age=${seconds}`);
const hitStatus = memoLast((ttl) => `${CACHE_NAME}; hit; ttl=${ttl}`);

/**
 * nginx's `X-Accel-Expires` of an aged answer: the whole seconds it stays
 * fresh here (max-age less Age), or undefined where `max-age` alone says
 * it (Age 0, fetched now; `max-age=0`, stale) or nothing may keep it.
 * nginx's `proxy_cache` (1.22) reads `max-age` and not `Age` (RFC 9111
 * 4.2.3), so an answer at Age 50 of 60 it kept 60 s more; it reads this
 * header first and keeps it to itself.
 */
export function accelExpires(
  result: Pick<
    CacheResult,
    "lifetimeSeconds" | "ageSeconds" | "unstoredCacheControl"
  >,
): string | undefined {
  const { lifetimeSeconds, ageSeconds } = result;
  if (ageSeconds <= 0 || lifetimeSeconds <= 0) return undefined;
  if (result.unstoredCacheControl !== undefined) return undefined;
  return secondsLeft(Math.max(0, lifetimeSeconds - ageSeconds));
}

const secondsLeft = memoLast((seconds) => String(seconds));

/**
 * `answer` (of {@linkcode cachedAnswer}) with the `X-Accel-Expires` of
 * `result` when it has one: on a 200, 304 or cached 404, not on a 412.
 * Added only with `NGINX_ACCEL_EXPIRES`: on, a cached hit measured 0.93x
 * the requests per second and 0.81x per CPU second of off (README, Caching).
 */
export function withAccelExpires(
  answer: Response | Reply,
  result: CacheResult,
): Response | Reply {
  const value = accelExpires(result);
  if (value === undefined) return answer;
  if (isReply(answer)) answer.headers["x-accel-expires"] = value;
  else if (answer.status === 404) answer.headers.set("x-accel-expires", value);
  return answer;
}

/**
 * The second (since the epoch, rounded down) the content of `entry` was
 * made: when it was stored here, less the age the upstream reported, on
 * the wall clock: `wallNow` less its age counted on the cache's clock
 * (`now`; never a time ahead of now). Rounded down as `Age` is rounded
 * up, so a client counting age from `Date` keeps a copy no longer than
 * one counting `Age`.
 */
export function madeSecondsOf(
  entry: CacheEntry,
  now: number = cacheNow(),
  wallNow: number = Date.now(),
): number {
  const stored = wallTimeOf(Math.min(entry.storedAt, now), now, wallNow);
  return Math.floor((stored - (entry.upstreamAgeMs ?? 0)) / 1000);
}

/**
 * The `Date` of a cached answer made at `seconds` (of
 * {@linkcode madeSecondsOf}), one string per second, made once (~1 µs).
 */
export const storedDate = memoByNumber((seconds) =>
  formatHttpDate(seconds * 1000)
);

/**
 * `answer` (of {@linkcode cachedAnswer}) dated when its content was made,
 * not when it is sent, as a cache keeps the `Date` of what it stored (RFC
 * 9111 4.2.3's `apparent_age` counts from it): a client that counts age
 * from `Date` and never reads `Age` (Python's CacheControl, pip's cache)
 * kept a copy taken at `Age` 3 of 4 for 4 s more. On a 200, 304 or cached
 * 404, not on a 412, nor on an answer the upstream forbade storing (no
 * copy: the runtime dates it now). Added only with `CACHE_STORED_DATE`:
 * one header more per hit, +7k instructions (~6.5 %) under callgrind
 * (README, Caching).
 */
export function withStoredDate(
  answer: Response | Reply,
  result: CacheResult,
): Response | Reply {
  if (result.unstoredCacheControl !== undefined) return answer;
  const date = storedDate(madeSecondsOf(result.entry));
  if (isReply(answer)) answer.headers["date"] = date;
  else if (answer.status === 404) answer.headers.set("date", date);
  return answer;
}

/**
 * `Cache-Control`, `Age` and `Cache-Status` of a lookup. An answer the
 * upstream forbade storing keeps the upstream's `Cache-Control` (so no
 * cache downstream stores it either) and has no `Age`: it is no copy.
 */
export function cacheHeaders(result: CacheResult): Record<string, string> {
  if (result.unstoredCacheControl !== undefined) {
    return {
      "cache-control": result.unstoredCacheControl,
      "cache-status": cacheStatus(result),
    };
  }
  return {
    "cache-control": cacheControl(result.lifetimeSeconds),
    "age": String(result.ageSeconds),
    "cache-status": cacheStatus(result),
  };
}

/**
 * What {@linkcode cachedAnswer} reads of the request: a `Request`, or the
 * pipeline's request context, which holds both read once (each read of a
 * `Request`'s getters is a checked call into the runtime).
 */
export interface CachedRequest {
  /** The request's method (`GET` or `HEAD`). */
  readonly method: string;
  /** The request's headers (`If-Match`, `If-None-Match`). */
  readonly headers: Headers;
  /** The URL's path (a 412's `instance`). */
  readonly pathname: string;
  /**
   * The origin the client asked (a list's paging links), its scheme the
   * proxy's when trusted (services/http/forwarded.ts).
   */
  readonly publicOrigin: string;
}

/**
 * Turns a cache lookup into the client's answer: 200 or 304 as a
 * {@linkcode Reply} (the pipeline adds its headers and builds the
 * `Response` once), 412 problem+json when `If-Match` names another
 * version, or the route's 404 (`notFound(req, headers)`) with the cache
 * headers (a 404 ignores preconditions: RFC 9110 13.2.1). `notFound` is
 * given `req` rather than closing over it: a closure made per hit would be
 * an allocation on every cached answer.
 */
export function cachedAnswer<R extends CachedRequest>(
  req: R,
  result: CacheResult,
  serverTiming: string,
  notFound: (req: R, headers: Record<string, string>) => Response,
): Response | Reply {
  const { entry } = result;
  if (entry.status === 404) {
    return notFound(req, {
      ...cacheHeaders(result),
      "server-timing": serverTiming,
    });
  }
  // The entry is its own validators: a strong ETag, no Last-Modified.
  const outcome = evaluatePreconditions(req.method, req.headers, entry);
  if (outcome === "failed") return preconditionFailed(req.pathname, entry.etag);
  if (outcome === "not-modified") {
    return {
      status: 304,
      headers: {
        ...cacheHeaders(result),
        etag: entry.etag,
        "server-timing": serverTiming,
      },
      body: null,
    };
  }
  const reply = okReply(result, serverTiming);
  // A list's paging headers, its links on the origin the client asked.
  if (entry.pagination !== undefined) {
    addPaginationHeaders(reply.headers, entry.pagination, req.publicOrigin);
  }
  return reply;
}

/**
 * The 200 of a lookup, without paging headers, and without
 * `Content-Length`: the runtime writes it from the body (a `HEAD` answer
 * gets it in routes/finish.ts), and a record with no header to drop goes
 * to the runtime as it is (services/http/reply.ts `headRecord`).
 */
function okReply(result: CacheResult, serverTiming: string): Reply {
  const { entry } = result;
  if (result.unstoredCacheControl !== undefined) {
    return {
      status: entry.status,
      headers: {
        "content-type": entry.contentType,
        etag: entry.etag,
        ...cacheHeaders(result),
        "server-timing": serverTiming,
      },
      body: entry.body,
    };
  }
  // One object literal: the cheapest form of a header record to build.
  return {
    status: entry.status,
    headers: {
      "content-type": entry.contentType,
      "etag": entry.etag,
      "cache-control": cacheControl(result.lifetimeSeconds),
      "age": String(result.ageSeconds),
      "cache-status": cacheStatus(result),
      "server-timing": serverTiming,
    },
    body: entry.body,
  };
}

/** A cache lookup and how long it and (when it ran) the upstream took. */
export interface TimedLookup {
  result: CacheResult;
  /** From the request's arrival to the cache's answer, ms. */
  lookupMs: number;
  upstreamMs: number | undefined;
}

/** The `Server-Timing` value of a lookup: cache outcome, and upstream. */
export function serverTimingOf(timed: TimedLookup): string {
  const cache = `cache;desc="${timed.result.outcome}";dur=${
    hundredths(timed.lookupMs)
  }`;
  return timed.upstreamMs === undefined
    ? cache
    : `${cache}, upstream;dur=${hundredths(timed.upstreamMs)}`;
}

/** `ms` to 0.01 ms (`toFixed(2)` costs several times more per request). */
function hundredths(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * The freshness of an answer built from several cache entries: the
 * shortest lifetime and the oldest age, so a downstream cache never keeps
 * it longer than any of its parts stays fresh here.
 */
export function combinedFreshness(
  results: readonly Pick<CacheResult, "lifetimeSeconds" | "ageSeconds">[],
): { lifetimeSeconds: number; ageSeconds: number } {
  if (results.length === 0) throw new RangeError("no results to combine");
  return {
    lifetimeSeconds: Math.min(...results.map((r) => r.lifetimeSeconds)),
    ageSeconds: Math.max(...results.map((r) => r.ageSeconds)),
  };
}
