/**
 * An upstream answer as a cache entry: a new one (our ETag of its body,
 * its validators, paging headers and `Age`), or a stale entry renewed by a
 * 304 (RFC 9111 4.3.4). What ResponseCache (policy.ts) stores after a
 * load.
 *
 * @module
 */

import { etagOf } from "../http/etag.ts";
import { hasValidators } from "../http/origin_validators.ts";
import type { Loaded } from "./lookup.ts";
import type { CacheEntry } from "./store.ts";

/**
 * A new answer as an entry: our ETag of its body, its validators, its
 * paging headers; stored as of `now()` once the ETag is taken.
 */
export async function entryOf(
  loaded: Loaded,
  now: () => number,
): Promise<CacheEntry> {
  const { validators, pagination, ageMs } = loaded;
  return {
    status: loaded.status,
    body: loaded.body,
    contentType: loaded.contentType,
    etag: await etagOf(loaded.body),
    storedAt: now(),
    ...(ageMs === undefined ? {} : { upstreamAgeMs: ageMs }),
    ...(validators && hasValidators(validators) ? { validators } : {}),
    ...(pagination ? { pagination } : {}),
  };
}

/**
 * `stale` confirmed current by a 304: fresh from `storedAt`, the same body
 * and ETag, validators updated by those the 304 carried (RFC 9111 4.3.4),
 * as old as the 304 says (a CDN's `Age`: its copy was validated then).
 */
export function renewedEntry(
  stale: CacheEntry,
  notModified: Loaded,
  storedAt: number,
): CacheEntry {
  const { unconfirmed: _unconfirmed, upstreamAgeMs: _age, ...confirmed } =
    stale;
  const { ageMs } = notModified;
  return {
    ...confirmed,
    storedAt,
    ...(ageMs === undefined ? {} : { upstreamAgeMs: ageMs }),
    validators: { ...confirmed.validators, ...notModified.validators },
  };
}
