/**
 * `DELETE /cache`: drops cached JSONPlaceholder reads on demand, by exact
 * path (`?path=/posts/1`, every query variant of it) or by prefix
 * (`?prefix=/posts`: the path, its variants and everything under it),
 * here and, with the shared tier, in Redis and every instance. It needs
 * `Authorization: Bearer <CACHE_ADMIN_TOKEN>` and exists only when that
 * token is set (404 otherwise). Answers how many entries were found and
 * removed: in Redis and this instance's memory (the other instances' copies
 * of them go too, uncounted), and whether Redis was reached.
 *
 * @module
 */

import { z } from "zod";
import type { ResponseCache } from "../../services/cache/policy.ts";
import { bearerChallenge } from "../../services/http/bearer.ts";
import { noStoreJson } from "../../services/http/no_store_json.ts";
import { problem } from "../../services/http/problem.ts";
import type { Route, RouteContext } from "../router.ts";

/** The answer of a purge. */
export const PurgeResultSchema = z.object({
  dropped: z.int().min(0)
    .describe(
      "Entries found and removed: in Redis and this instance's memory " +
        "(other instances drop their copies of them too, uncounted).",
    ),
  scope: z.enum(["shared", "local"])
    .describe(
      "`shared` when Redis, and through it every instance, was reached; " +
        "`local` without `REDIS_URL` or when Redis failed (then entries in " +
        "Redis stay until their TTL).",
    ),
});

/** What the purge route needs. */
export interface PurgeDeps {
  cache: ResponseCache;
  /** `CACHE_ADMIN_TOKEN`; without it the route does not exist. */
  token: string | undefined;
}

const MAX_PATH = 2048;

/**
 * The purge's query, read as a form (`URLSearchParams`: each piece cut at
 * its first `=`), not as json-server reads one (`ctx.query`, where a piece
 * with `]=` is cut after the `]`): its values are paths, and
 * `?path=/posts/a]=b` is the path `/posts/a]=b`. Read as `qs`, it was a
 * parameter `path=/posts/a]` and no path (400), so such a path had to be
 * written `]%3D`.
 */
function purgeQuery(ctx: RouteContext): URLSearchParams {
  return ctx.url.searchParams;
}

function badRequest(detail: string, ctx: RouteContext): Response {
  return problem(400, { detail, instance: ctx.url.pathname });
}

/** The one `path` or `prefix` asked for, or why the query is wrong. */
function target(
  params: URLSearchParams,
): { kind: "path" | "prefix"; value: string } | string {
  const given = (["path", "prefix"] as const).flatMap((kind) =>
    params.getAll(kind).map((value) => ({ kind, value }))
  );
  if (given.length !== 1) {
    return "Give exactly one of ?path=/... (exact) or ?prefix=/... (a subtree)";
  }
  const { kind, value } = given[0]!;
  // As the cache keys paths: absolute, normalized, without query.
  let normalized: string | undefined;
  try {
    normalized = new URL(value, "http://x").pathname;
  } catch {
    normalized = undefined;
  }
  if (
    !value.startsWith("/") || value.startsWith("//") ||
    value.length > MAX_PATH || normalized !== value
  ) {
    return `${kind} must be a path such as /posts/1 (no query, no dot ` +
      `segments), got "${value.slice(0, 100)}"`;
  }
  return { kind, value };
}

/** The purge route, when a token is set. */
export function purgeRoutes({ cache, token }: PurgeDeps): Route[] {
  if (token === undefined) return [];
  return [{
    method: "DELETE",
    pattern: "/cache",
    query: purgeQuery,
    handler: async (req, ctx) => {
      const denied = bearerChallenge(
        req.headers.get("authorization"),
        token,
        ctx.url.pathname,
      );
      if (denied) return denied;
      const wanted = target(purgeQuery(ctx));
      if (typeof wanted === "string") return badRequest(wanted, ctx);
      const rule = wanted.kind === "path"
        ? { paths: [wanted.value] }
        : { prefixes: [wanted.value] };
      const { keys, scope } = await cache.invalidate(rule, "purge");
      ctx.log.purged = keys.length;
      const body: z.infer<typeof PurgeResultSchema> = {
        dropped: keys.length,
        scope,
      };
      return noStoreJson(body, {
        headers: { "content-type": "application/json" },
      });
    },
  }];
}
