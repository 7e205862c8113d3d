/**
 * `/users/:id/summary`: a user and their posts, todos and albums, each
 * looked up through the response cache, answered as one JSON object made
 * of the parts' stored bytes (checked as JSON when fetched), not parsed
 * and serialised again: three 15 MB lists held the event loop ~1 s a
 * summary that way, and 16 at once took the process to 1.5 GB.
 *
 * Nor are the bytes joined: a large summary is sent as views of its
 * parts' cached buffers between its own few bytes (services/http/
 * pieces.ts), so a summary in flight holds no copy of its parts (16 at
 * once of 15 MB lists held one each, 45 MB apiece: 1.03 GB).
 * Its `ETag` is therefore a digest of the parts' own tags, not of the
 * bytes: it changes whenever one of them does.
 *
 * @module
 */

import {
  accelExpires,
  cacheControl,
  combinedFreshness,
  madeSecondsOf,
  storedDate,
} from "../../services/cache/headers.ts";
import { cacheNow } from "../../services/cache/clock.ts";
import type { CacheResult } from "../../services/cache/lookup.ts";
import {
  evaluatePreconditions,
  preconditionFailed,
} from "../../services/http/conditional.ts";
import { etagOf } from "../../services/http/etag.ts";
import { bodyOf } from "../../services/http/large_reply.ts";
import type { JsonShape } from "../../services/upstream/client.ts";
import type { Handler, RouteContext } from "../router.ts";
import {
  type Asker,
  badId,
  type JsonPlaceholderDeps,
  lookup,
  notFound,
} from "./cached_read.ts";
import { isValidId, type PartError, SUMMARY_PARTS } from "./resources.ts";

function partError(
  part: typeof SUMMARY_PARTS[number],
  reason: unknown,
): PartError {
  const status = (reason as { status?: unknown }).status;
  return {
    part,
    status: typeof status === "number" ? status : 502,
    detail: reason instanceof Error ? reason.message : "upstream failed",
  };
}

/**
 * The parts of a summary: each list's cached entry, or `null` with an
 * `errors` entry; `used`, the lookups that answered.
 */
function collectParts(
  settled: readonly PromiseSettledResult<CacheResult>[],
): {
  lists: (CacheResult["entry"] | null)[];
  errors: PartError[];
  used: CacheResult[];
} {
  const lists: (CacheResult["entry"] | null)[] = [];
  const errors: PartError[] = [];
  const used: CacheResult[] = [];
  settled.forEach((result, i) => {
    const part = SUMMARY_PARTS[i]!;
    lists[i] = null;
    if (result.status === "rejected") {
      errors.push(partError(part, result.reason));
      return;
    }
    const { entry } = result.value;
    used.push(result.value);
    if (entry.status !== 200) {
      errors.push({
        part,
        status: entry.status,
        detail: `upstream answered ${entry.status}`,
      });
      return;
    }
    lists[i] = entry;
  });
  return { lists, errors, used };
}

type Parts = ReturnType<typeof collectParts>;

const encoder = new TextEncoder();
const NULL = encoder.encode("null");
// The summary's own bytes between its parts, made once: the same views
// serve every summary.
const USER_KEY = encoder.encode('{"user":');
const PART_KEYS = SUMMARY_PARTS.map((part) => encoder.encode(`,"${part}":`));

/**
 * A summary's JSON, `{"user":…,"posts":…,"todos":…,"albums":…,"errors":…}`,
 * as its pieces: the parts' stored bytes themselves, indentation and all,
 * between the summary's own.
 */
function summaryPieces(user: Uint8Array, parts: Parts): Uint8Array[] {
  const pieces = [USER_KEY, user];
  PART_KEYS.forEach((key, i) => {
    pieces.push(key, parts.lists[i]?.body ?? NULL);
  });
  pieces.push(encoder.encode(`,"errors":${JSON.stringify(parts.errors)}}`));
  return pieces;
}

/**
 * A summary's strong `ETag`, from what its bytes are made of: each part's
 * own tag (a digest of its stored bytes) or `null`, and the errors. Equal
 * tags mean equal bytes, without joining them to hash them.
 */
function summaryTag(userTag: string, parts: Parts): Promise<string> {
  const tags = parts.lists.map((entry) => entry?.etag ?? null);
  const made = JSON.stringify(["summary", userTag, ...tags, parts.errors]);
  return etagOf(encoder.encode(made));
}

/**
 * Each part of a summary's lookup, for the request `ctx`, timed from
 * `started` (when the parts were asked for).
 */
function partLookup(
  deps: JsonPlaceholderDeps,
  ctx: RouteContext,
  started: number,
): (path: string, shape: JsonShape) => Promise<CacheResult> {
  const asked: Asker = { started, remoteAddress: ctx.remoteAddress };
  return async (path, shape) => (await lookup(deps, path, asked, shape)).result;
}

/**
 * The caching headers of a summary built from `used`: `no-store` for a
 * partial answer or one with a part the upstream forbade storing, else
 * the freshness the parts leave it.
 */
function cachingHeaders(
  deps: JsonPlaceholderDeps,
  used: CacheResult[],
  errors: PartError[],
): Record<string, string> {
  if (
    errors.length > 0 || used.some((r) => r.unstoredCacheControl !== undefined)
  ) {
    return { "cache-control": "no-store" };
  }
  const { lifetimeSeconds, ageSeconds } = combinedFreshness(used);
  const headers: Record<string, string> = {
    "cache-control": cacheControl(lifetimeSeconds),
    "age": String(ageSeconds),
  };
  const expires = deps.nginxAccelExpires === true
    ? accelExpires({ lifetimeSeconds, ageSeconds })
    : undefined;
  if (expires !== undefined) headers["x-accel-expires"] = expires;
  if (deps.cacheStoredDate === true) {
    // The oldest part's, as the Age is the oldest part's.
    const now = cacheNow();
    const wallNow = Date.now();
    const made = Math.min(
      ...used.map((r) => madeSecondsOf(r.entry, now, wallNow)),
    );
    headers["date"] = storedDate(made);
  }
  return headers;
}

/** The `/users/:id/summary` handler. */
export function summary(deps: JsonPlaceholderDeps): Handler {
  return async (req, ctx) => {
    const id = ctx.params.id;
    if (!isValidId(id)) return badId(ctx);
    // All four at once: the user's own lookup does not gate the others.
    const started = performance.now();
    const result = partLookup(deps, ctx, started);
    const [user, ...rest] = await Promise.allSettled([
      result(`/users/${id}`, "object"),
      ...SUMMARY_PARTS.map((part) => result(`/users/${id}/${part}`, "list")),
    ]);
    const outcomes = [user, ...rest].map((s) =>
      s.status === "fulfilled" ? s.value.outcome : "error"
    );
    const timing = `cache;desc="${outcomes.join(" ")}";dur=${
      (performance.now() - started).toFixed(2)
    }`;
    if (user!.status === "rejected") throw user!.reason;
    const userEntry = user!.value.entry;
    if (userEntry.status === 404) return notFound(ctx);

    const parts = collectParts(rest);
    const used = [user!.value, ...parts.used];
    ctx.log.cache = used.map((r) => r.outcome).join(",");
    const etag = await summaryTag(userEntry.etag, parts);
    const headers: Record<string, string> = {
      etag,
      "server-timing": timing,
      ...cachingHeaders(deps, used, parts.errors),
    };
    const outcome = evaluatePreconditions(ctx.method, req.headers, { etag });
    if (outcome === "failed") return preconditionFailed(ctx.pathname, etag);
    if (outcome === "not-modified") return { status: 304, headers, body: null };
    headers["content-type"] = "application/json; charset=utf-8";
    // A record, not a Response: the pipeline sends a large one in slices
    // of the parts' own buffers, and compresses it from them when asked.
    return {
      status: 200,
      headers,
      body: bodyOf(summaryPieces(userEntry.body, parts)),
    };
  };
}
