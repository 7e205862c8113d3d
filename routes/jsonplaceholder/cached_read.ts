/**
 * What the JSONPlaceholder reads share: their dependencies, the lookup of
 * an upstream path through the response cache (memory first, then the
 * cache's loader calling the upstream), and their 404 and 400 answers.
 *
 * @module
 */

import type { TimedLookup } from "../../services/cache/headers.ts";
import type { ResponseCache } from "../../services/cache/policy.ts";
import type {
  JsonPlaceholderClient,
  JsonShape,
} from "../../services/upstream/client.ts";
import { problem } from "../../services/http/problem.ts";
import type { RouteContext } from "../router.ts";

/** What the JSONPlaceholder routes need. */
export interface JsonPlaceholderDeps {
  client: JsonPlaceholderClient;
  cache: ResponseCache;
  /**
   * Send `X-Accel-Expires` on aged answers, for an nginx `proxy_cache` in
   * front (`NGINX_ACCEL_EXPIRES`). @default {false}
   */
  nginxAccelExpires?: boolean;
  /**
   * Date cached answers when their content was made, not now, for clients
   * that count age from `Date` alone (`CACHE_STORED_DATE`). @default {false}
   */
  cacheStoredDate?: boolean;
}

/** 404 problem+json naming the resource and id of the path asked for. */
export function notFound(
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
export function fromMemory(
  deps: JsonPlaceholderDeps,
  pathAndQuery: string,
  started: number,
): TimedLookup | undefined {
  // The cache's clock (services/cache/clock.ts): one read for the entry's
  // freshness and age and this lookup's time.
  const now = performance.now();
  const result = deps.cache.hit(pathAndQuery, now);
  if (result === undefined) return undefined;
  return {
    result,
    lookupMs: now - started,
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
  const result = await deps.cache.get(pathAndQuery, async (validators, {
    ifFailed,
  }) => {
    const response = await deps.client.get(pathAndQuery, {
      shape,
      ...(validators ? { validators } : {}),
      client,
      ifShed: ifFailed === "stale" ? "stale" : "refused",
    });
    upstreamMs = response.durationMs;
    return response;
  });
  return { result, lookupMs: performance.now() - started, upstreamMs };
}
