/**
 * The JSONPlaceholder routes: resources, items, nested collections and the
 * `/users/:id/summary` aggregate, served through the response cache with
 * `ETag`, `Cache-Control`, `Age` and RFC 9211 `Cache-Status` headers.
 *
 * @module
 */

import {
  accelExpires,
  cacheControl,
  cachedAnswer,
  combinedFreshness,
  serverTimingOf,
  type TimedLookup,
  withAccelExpires,
} from "../../services/cache/headers.ts";
import type { CacheResult } from "../../services/cache/lookup.ts";
import type { ResponseCache } from "../../services/cache/policy.ts";
import {
  evaluatePreconditions,
  preconditionFailed,
} from "../../services/http/conditional.ts";
import { etagOf } from "../../services/http/etag.ts";
import { concat } from "../../services/http/encoders.ts";
import type {
  JsonPlaceholderClient,
  JsonShape,
} from "../../services/upstream/client.ts";
import { problem } from "../../services/http/problem.ts";
import type { Handler, Route, RouteContext } from "../router.ts";
import {
  canonicalQuery,
  isValidId,
  NESTED,
  type PartError,
  RESOURCES,
  SUMMARY_PARTS,
} from "./resources.ts";
import { MAX_UPSTREAM_TARGET, upstreamQueryProblem } from "./upstream_query.ts";

export { canonicalQuery, isValidId, NESTED, RESOURCES } from "./resources.ts";

/** What the JSONPlaceholder routes need. */
export interface JsonPlaceholderDeps {
  client: JsonPlaceholderClient;
  cache: ResponseCache;
  /**
   * Send `X-Accel-Expires` on aged answers, for an nginx `proxy_cache` in
   * front (`NGINX_ACCEL_EXPIRES`). @default {false}
   */
  nginxAccelExpires?: boolean;
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

/** 400 for an `:id` that is not a positive integer. */
export function badId(ctx: RouteContext): Response {
  return problem(400, {
    title: "Invalid id",
    detail: `Ids are positive integers, got "${ctx.params.id}"`,
    instance: ctx.url.pathname,
  });
}

/** Who asked for a lookup: when the request arrived, and from where. */
export type Asker = Pick<RouteContext, "started" | "remoteAddress">;

/**
 * Looks up an upstream path (with query) through the cache: a fresh entry
 * held in memory at once (no promise to wait on: the hot path), anything
 * else through the cache's loader, which takes only JSON of `shape` (an
 * item's object, a list's array). Timed from `started` (the request's
 * arrival, `performance.now()`): a memory hit then reads the clock once,
 * not twice, for its `Server-Timing`. A call to the upstream counts
 * against the asker's address's share of its slots.
 */
export function lookup(
  deps: JsonPlaceholderDeps,
  pathAndQuery: string,
  asked: Asker,
  shape: JsonShape,
): TimedLookup | Promise<TimedLookup> {
  return fromMemory(deps, pathAndQuery, asked.started) ??
    load(deps, pathAndQuery, asked, shape);
}

/** {@linkcode lookup} of a fresh entry held in memory, else `undefined`. */
function fromMemory(
  deps: JsonPlaceholderDeps,
  pathAndQuery: string,
  started: number,
): TimedLookup | undefined {
  const result = deps.cache.hit(pathAndQuery);
  if (result === undefined) return undefined;
  return {
    result,
    lookupMs: performance.now() - started,
    upstreamMs: undefined,
  };
}

/** {@linkcode lookup} past the memory: the cache, maybe the upstream. */
async function load(
  deps: JsonPlaceholderDeps,
  pathAndQuery: string,
  asked: Asker,
  shape: JsonShape,
): Promise<TimedLookup> {
  const { started, remoteAddress: client } = asked;
  let upstreamMs: number | undefined;
  // Only the asker that starts the key's flight (or its revalidation) calls
  // this: the others wait on its call whatever their address, uncounted.
  const result = await deps.cache.get(pathAndQuery, async (validators) => {
    const response = await deps.client.get(pathAndQuery, {
      shape,
      ...(validators ? { validators } : {}),
      client,
    });
    upstreamMs = response.durationMs;
    return response;
  });
  return { result, lookupMs: performance.now() - started, upstreamMs };
}

/** {@linkcode proxy} for a path with an `:id`: a malformed one is a 400. */
function proxyById(
  deps: JsonPlaceholderDeps,
  shape: JsonShape,
): Pick<Route, "handler" | "atOnce"> {
  const { handler, atOnce } = proxy(deps, shape);
  return {
    handler: (req, ctx) =>
      isValidId(ctx.params.id) ? handler(req, ctx) : badId(ctx),
    atOnce: (req, ctx) =>
      isValidId(ctx.params.id) ? atOnce(req, ctx) : undefined,
  };
}

/** The cache key of a request: its path, and its query made canonical. */
function keyOf(ctx: RouteContext): string {
  const { pathname, search } = ctx;
  return search === ""
    ? pathname
    : pathname + canonicalQuery(ctx.query, search);
}

/** The answer refusing a query the upstream cannot take, if it is one. */
function refusedQuery(ctx: RouteContext, key: string): Response | undefined {
  const instance = ctx.url.pathname;
  // As sent, too: past json-server's 1,000th parameter the key is cut
  // (`canonicalQuery`), and JSONPlaceholder refuses such a head (431).
  const length = Math.max(key.length, ctx.pathname.length + ctx.search.length);
  if (length > MAX_UPSTREAM_TARGET) {
    return problem(414, {
      detail: `The path and query come to ${length} characters; ` +
        `at most ${MAX_UPSTREAM_TARGET} are taken`,
      instance,
    });
  }
  const detail = upstreamQueryProblem(
    ctx.query,
  );
  if (detail === undefined) return undefined;
  return problem(400, { title: "Invalid query parameter", detail, instance });
}

/**
 * Answers the request's path (query made canonical) from the cache: at
 * once when memory holds it fresh (`atOnce`), else through the cache's
 * loader (`handler`), which takes only JSON of `shape`. Both answer with
 * {@linkcode cachedAnswer}.
 */
function proxy(
  deps: JsonPlaceholderDeps,
  shape: JsonShape,
): Required<Pick<Route, "handler" | "atOnce">> {
  const plain = (ctx: RouteContext, timed: TimedLookup) => {
    ctx.log.cache = timed.result.outcome;
    return cachedAnswer(ctx, timed.result, serverTimingOf(timed), notFound);
  };
  // Chosen once: without the setting the hit path is as it was.
  const answer = deps.nginxAccelExpires === true
    ? (ctx: RouteContext, timed: TimedLookup) =>
      withAccelExpires(plain(ctx, timed), timed.result)
    : plain;
  return {
    handler: (_req, ctx) => {
      const key = keyOf(ctx);
      const refused = ctx.search === "" ? undefined : refusedQuery(ctx, key);
      if (refused !== undefined) return refused;
      // The context is the asker: no record per request on the hot path.
      const timed = lookup(deps, key, ctx, shape);
      return timed instanceof Promise
        ? timed.then((timed) => answer(ctx, timed))
        : answer(ctx, timed);
    },
    atOnce: (_req, ctx) => {
      const timed = fromMemory(deps, keyOf(ctx), ctx.started);
      return timed === undefined ? undefined : answer(ctx, timed);
    },
  };
}

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

/** The parts of a summary: each list's JSON, or `null` with an `errors` entry. */
function collectParts(
  settled: readonly PromiseSettledResult<CacheResult>[],
): {
  lists: (Uint8Array | null)[];
  errors: PartError[];
  used: CacheResult[];
} {
  const lists: (Uint8Array | null)[] = [];
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
    lists[i] = entry.body;
  });
  return { lists, errors, used };
}

const encoder = new TextEncoder();
const NULL = encoder.encode("null");

/**
 * A summary's JSON, `{"user":…,"posts":…,"todos":…,"albums":…,"errors":…}`,
 * its parts' stored bytes (checked as JSON when fetched) copied in as they
 * are, indentation and all, not parsed and serialised again: three 15 MB
 * lists from an upstream held the event loop ~1 s a summary, and 16 at once
 * took the process to 1.5 GB with /metrics unanswered for 20 s.
 */
function summaryBody(
  user: Uint8Array,
  parts: { lists: (Uint8Array | null)[]; errors: PartError[] },
): Uint8Array<ArrayBuffer> {
  const pieces = [encoder.encode('{"user":'), user];
  SUMMARY_PARTS.forEach((part, i) => {
    pieces.push(encoder.encode(`,"${part}":`), parts.lists[i] ?? NULL);
  });
  pieces.push(encoder.encode(`,"errors":${JSON.stringify(parts.errors)}}`));
  const length = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
  return concat(pieces, length) as Uint8Array<ArrayBuffer>;
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

function summary(deps: JsonPlaceholderDeps): Handler {
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
    ctx.log.cache = used.map((r) => r.outcome).join(",");

    const bytes = summaryBody(user!.value.entry.body, parts);
    const etag = await etagOf(bytes);
    // A record, not a Response: a large summary then goes out in slices of
    // its buffer (routes/finish.ts), not as a whole copy per response.
    const headers: Record<string, string> = { etag, "server-timing": timing };
    if (
      errors.length > 0 ||
      used.some((r) => r.unstoredCacheControl !== undefined)
    ) {
      // A partial answer must not be kept by anyone, nor one built from
      // parts the upstream forbade storing.
      headers["cache-control"] = "no-store";
    } else {
      const { lifetimeSeconds, ageSeconds } = combinedFreshness(used);
      headers["cache-control"] = cacheControl(lifetimeSeconds);
      headers["age"] = String(ageSeconds);
      const expires = deps.nginxAccelExpires === true
        ? accelExpires({ lifetimeSeconds, ageSeconds })
        : undefined;
      if (expires !== undefined) headers["x-accel-expires"] = expires;
    }
    const outcome = evaluatePreconditions(ctx.method, req.headers, { etag });
    if (outcome === "failed") return preconditionFailed(ctx.pathname, etag);
    if (outcome === "not-modified") return { status: 304, headers, body: null };
    headers["content-type"] = "application/json; charset=utf-8";
    return { status: 200, headers, body: bytes };
  };
}

/** The route table entries of the JSONPlaceholder front. */
export function jsonPlaceholderRoutes(deps: JsonPlaceholderDeps): Route[] {
  const routes: Route[] = [];
  for (const resource of RESOURCES) {
    routes.push(
      { method: "GET", pattern: `/${resource}`, ...proxy(deps, "list") },
      {
        method: "GET",
        pattern: `/${resource}/:id`,
        ...proxyById(deps, "object"),
      },
    );
  }
  for (const [parent, child] of NESTED) {
    routes.push({
      method: "GET",
      pattern: `/${parent}/:id/${child}`,
      ...proxyById(deps, "list"),
    });
  }
  routes.push({
    method: "GET",
    pattern: "/users/:id/summary",
    handler: summary(deps),
  });
  return routes;
}
