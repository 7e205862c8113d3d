/**
 * The JSONPlaceholder routes: resources, items, nested collections and the
 * `/users/:id/summary` aggregate, served through the response cache with
 * `ETag`, `Cache-Control`, `Age` and RFC 9211 `Cache-Status` headers.
 *
 * @module
 */

import {
  cachedAnswer,
  serverTimingOf,
  type TimedLookup,
  withAccelExpires,
  withStoredDate,
} from "../../services/cache/headers.ts";
import type { JsonShape } from "../../services/upstream/client.ts";
import { problem } from "../../services/http/problem.ts";
import type { Route, RouteContext } from "../router.ts";
import {
  badId,
  fromMemory,
  type JsonPlaceholderDeps,
  lookup,
  notFound,
} from "./cached_read.ts";
import { canonicalQuery, isValidId, NESTED, RESOURCES } from "./resources.ts";
import { summary } from "./summary.ts";
import { MAX_UPSTREAM_TARGET, upstreamQueryProblem } from "./upstream_query.ts";

export { canonicalQuery, isValidId, NESTED, RESOURCES } from "./resources.ts";
export {
  type Asker,
  badId,
  type JsonPlaceholderDeps,
  lookup,
} from "./cached_read.ts";

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
  // Chosen once: without the settings the hit path is as it was.
  const accel = deps.nginxAccelExpires === true
    ? (ctx: RouteContext, timed: TimedLookup) =>
      withAccelExpires(plain(ctx, timed), timed.result)
    : plain;
  const answer = deps.cacheStoredDate === true
    ? (ctx: RouteContext, timed: TimedLookup) =>
      withStoredDate(accel(ctx, timed), timed.result)
    : accel;
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
