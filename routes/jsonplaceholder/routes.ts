/**
 * The JSONPlaceholder routes: resources, items, nested collections and the
 * `/users/:id/summary` aggregate, served through the response cache with
 * `ETag`, `Cache-Control`, `Age` and RFC 9211 `Cache-Status` headers.
 *
 * @module
 */

import {
  type CacheResult,
  etagOf,
  type ResponseCache,
} from "../../services/cache/policy.ts";
import { weakMatch } from "../../services/http/conditional.ts";
import type { JsonPlaceholderClient } from "../../services/upstream/client.ts";
import { problem } from "../../services/http/problem.ts";
import type { Handler, Route, RouteContext } from "../router.ts";

/** What the JSONPlaceholder routes need. */
export interface JsonPlaceholderDeps {
  client: JsonPlaceholderClient;
  cache: ResponseCache;
}

/** The resources of JSONPlaceholder. */
export const RESOURCES = [
  "posts",
  "comments",
  "albums",
  "photos",
  "todos",
  "users",
] as const;

/** Nested collections: `/<parent>/:id/<child>`. */
export const NESTED = [
  ["posts", "comments"],
  ["albums", "photos"],
  ["users", "posts"],
  ["users", "todos"],
  ["users", "albums"],
] as const;

/** Name of this cache in `Cache-Status` (RFC 9211). */
export const CACHE_NAME = "async-api";

const ID = /^[1-9][0-9]{0,15}$/;

/** Whether `id` is a positive integer a JSONPlaceholder id can be. */
export function isValidId(id: string | undefined): id is string {
  return id !== undefined && ID.test(id) && Number.isSafeInteger(Number(id));
}

/** The canonical query string: parameters sorted by name, then value. */
export function canonicalQuery(params: URLSearchParams): string {
  const entries = [...params];
  if (entries.length === 0) return "";
  entries.sort(([ak, av], [bk, bv]) =>
    ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0
  );
  return "?" + new URLSearchParams(entries).toString();
}

/** The RFC 9211 `Cache-Status` value of a lookup. */
export function cacheStatus(result: CacheResult): string {
  const ttl = `ttl=${result.ttlSeconds}`;
  switch (result.outcome) {
    case "hit":
      return `${CACHE_NAME}; hit; ${ttl}`;
    case "miss":
      return `${CACHE_NAME}; fwd=miss; stored`;
    case "collapsed":
      return `${CACHE_NAME}; fwd=miss; collapsed`;
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
  return `public, max-age=${Math.max(0, lifetimeSeconds)}`;
}

function cacheHeaders(result: CacheResult): Record<string, string> {
  return {
    "cache-control": cacheControl(result.lifetimeSeconds),
    "age": String(result.ageSeconds),
    "cache-status": cacheStatus(result),
  };
}

function notFound(
  ctx: RouteContext,
  headers?: Record<string, string>,
): Response {
  const [, resource, id] = ctx.url.pathname.split("/");
  const noun = resource?.replace(/s$/, "") ?? "resource";
  return problem(404, {
    detail: `No ${noun} with id ${id}`,
    instance: ctx.url.pathname,
  }, headers ? { headers } : {});
}

/** Turns a cache lookup into the client's response (200, 304 or 404). */
export function cachedResponse(
  req: Request,
  ctx: RouteContext,
  result: CacheResult,
  serverTiming: string,
): Response {
  ctx.log.cache = result.outcome;
  const { entry } = result;
  if (entry.status === 404) {
    return notFound(ctx, {
      ...cacheHeaders(result),
      "server-timing": serverTiming,
    });
  }
  if (weakMatch(req.headers.get("if-none-match"), entry.etag)) {
    return new Response(null, {
      status: 304,
      headers: {
        ...cacheHeaders(result),
        etag: entry.etag,
        "server-timing": serverTiming,
      },
    });
  }
  // One object literal: building response headers is the costliest step
  // of a cache hit, and a plain record is the cheapest form Deno takes.
  return new Response(entry.body as Uint8Array<ArrayBuffer>, {
    status: entry.status,
    headers: {
      "content-type": entry.contentType,
      "content-length": String(entry.body.byteLength),
      "etag": entry.etag,
      "cache-control": cacheControl(result.lifetimeSeconds),
      "age": String(result.ageSeconds),
      "cache-status": cacheStatus(result),
      "server-timing": serverTiming,
    },
  });
}

function badId(ctx: RouteContext): Response {
  return problem(400, {
    title: "Invalid id",
    detail: `Ids are positive integers, got "${ctx.params.id}"`,
    instance: ctx.url.pathname,
  });
}

/** A cache lookup and how long it and (when it ran) the upstream took. */
export interface TimedLookup {
  result: CacheResult;
  lookupMs: number;
  upstreamMs: number | undefined;
}

/** Looks up an upstream path (with query) through the cache. */
export async function lookup(
  deps: JsonPlaceholderDeps,
  pathAndQuery: string,
): Promise<TimedLookup> {
  const started = performance.now();
  let upstreamMs: number | undefined;
  const result = await deps.cache.get(pathAndQuery, async () => {
    const response = await deps.client.get(pathAndQuery);
    upstreamMs = response.durationMs;
    return response;
  });
  return { result, lookupMs: performance.now() - started, upstreamMs };
}

/** The `Server-Timing` value of a lookup: cache outcome, and upstream. */
export function serverTimingOf(timed: TimedLookup): string {
  const cache = `cache;desc="${timed.result.outcome}";dur=${
    timed.lookupMs.toFixed(2)
  }`;
  return timed.upstreamMs === undefined
    ? cache
    : `${cache}, upstream;dur=${timed.upstreamMs.toFixed(2)}`;
}

function proxy(deps: JsonPlaceholderDeps, withId: boolean): Handler {
  return async (req, ctx) => {
    if (withId && !isValidId(ctx.params.id)) return badId(ctx);
    const { pathname, search } = ctx.url;
    const key = search === ""
      ? pathname
      : pathname + canonicalQuery(ctx.url.searchParams);
    const timed = await lookup(deps, key);
    return cachedResponse(req, ctx, timed.result, serverTimingOf(timed));
  };
}

interface PartError {
  part: string;
  status: number;
  detail: string;
}

function partError(part: string, reason: unknown): PartError {
  const status = (reason as { status?: unknown }).status;
  return {
    part,
    status: typeof status === "number" ? status : 502,
    detail: reason instanceof Error ? reason.message : "upstream failed",
  };
}

const decoder = new TextDecoder();

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

const SUMMARY_PARTS = ["posts", "todos", "albums"] as const;

/** The parts of a summary: each list, or `null` with an `errors` entry. */
function collectParts(
  settled: readonly PromiseSettledResult<CacheResult>[],
): {
  lists: Record<string, unknown>;
  errors: PartError[];
  used: CacheResult[];
} {
  const lists: Record<string, unknown> = {};
  const errors: PartError[] = [];
  const used: CacheResult[] = [];
  settled.forEach((result, i) => {
    const part = SUMMARY_PARTS[i]!;
    lists[part] = null;
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
    lists[part] = JSON.parse(decoder.decode(entry.body));
  });
  return { lists, errors, used };
}

function summary(deps: JsonPlaceholderDeps): Handler {
  return async (req, ctx) => {
    const id = ctx.params.id;
    if (!isValidId(id)) return badId(ctx);
    // All four at once: the user's own lookup does not gate the others.
    const started = performance.now();
    const result = (path: string) => lookup(deps, path).then((t) => t.result);
    const [user, ...rest] = await Promise.allSettled([
      result(`/users/${id}`),
      ...SUMMARY_PARTS.map((part) => result(`/users/${id}/${part}`)),
    ]);
    const timing = `cache;desc="${
      [user, ...rest].map((s) =>
        s.status === "fulfilled" ? s.value.outcome : "error"
      )
        .join(" ")
    }";dur=${(performance.now() - started).toFixed(2)}`;
    if (user!.status === "rejected") throw user!.reason;
    if (user!.value.entry.status === 404) return notFound(ctx);

    const parts = collectParts(rest);
    const errors = parts.errors;
    const used = [user!.value, ...parts.used];
    const body = {
      user: JSON.parse(decoder.decode(user!.value.entry.body)),
      ...parts.lists,
      errors,
    };
    ctx.log.cache = used.map((r) => r.outcome).join(",");

    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const etag = await etagOf(bytes);
    const headers = new Headers({ etag, "server-timing": timing });
    if (errors.length > 0) {
      // A partial answer must not be kept by anyone.
      headers.set("cache-control", "no-store");
    } else {
      const { lifetimeSeconds, ageSeconds } = combinedFreshness(used);
      headers.set("cache-control", cacheControl(lifetimeSeconds));
      headers.set("age", String(ageSeconds));
    }
    if (weakMatch(req.headers.get("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-type", "application/json; charset=utf-8");
    headers.set("content-length", String(bytes.byteLength));
    return new Response(bytes, { status: 200, headers });
  };
}

/** The route table entries of the JSONPlaceholder front. */
export function jsonPlaceholderRoutes(deps: JsonPlaceholderDeps): Route[] {
  const routes: Route[] = [];
  for (const resource of RESOURCES) {
    routes.push(
      { method: "GET", pattern: `/${resource}`, handler: proxy(deps, false) },
      {
        method: "GET",
        pattern: `/${resource}/:id`,
        handler: proxy(deps, true),
      },
    );
  }
  for (const [parent, child] of NESTED) {
    routes.push({
      method: "GET",
      pattern: `/${parent}/:id/${child}`,
      handler: proxy(deps, true),
    });
  }
  routes.push({
    method: "GET",
    pattern: "/users/:id/summary",
    handler: summary(deps),
  });
  return routes;
}
