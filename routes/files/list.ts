/**
 * `GET /files`: one page of the stored files, oldest first, with a `Link`
 * to the next page.
 *
 * While the index is still being built after a start (and not done within
 * a second) the listing is refused, 503 with `Retry-After` (the build's
 * estimate), rather than given as a partial page: a client library takes a
 * 200 page as the truth (a generated client has no field telling "partial";
 * a pager following `Link` would end early and miss files), while a 503
 * with `Retry-After` is what retrying clients already wait on and ask
 * again (urllib3's `Retry(total=n)` does for a GET, by default). Nothing
 * is logged: it is the expected answer of a start, not a failure.
 *
 * @module
 */

import { noStoreJson } from "../../services/http/no_store_json.ts";
import { problem } from "../../services/http/problem.ts";
import {
  type FileStorage,
  IndexBuildingError,
  StorageUnavailableError,
} from "../../services/storage/storage.ts";
import type { Handler, RouteContext } from "../router.ts";
import { DEFAULT_LIST_LIMIT } from "./schemas.ts";

/** The handler of `GET /files`. */
export function listHandler(
  store: FileStorage,
  storageUnavailable: (error: unknown, ctx: RouteContext) => Response,
): Handler {
  return async (_req, ctx) => {
    const params = ctx.query;
    const limitParam = params.get("limit");
    // `?cursor=` (empty) is the first page, as when it is left out.
    const cursor = params.get("cursor") || undefined;
    const limit = limitParam === null ? DEFAULT_LIST_LIMIT : Number(limitParam);
    let page;
    try {
      page = await store.list({
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
    } catch (error) {
      if (error instanceof IndexBuildingError) {
        return problem(503, {
          title: "Storage unavailable",
          detail: error.message,
          instance: "/files",
        }, { headers: { "retry-after": String(error.retryAfterSeconds) } });
      }
      if (error instanceof StorageUnavailableError) {
        return storageUnavailable(error, ctx);
      }
      if (!(error instanceof RangeError)) throw error;
      return problem(400, { detail: error.message, instance: "/files" });
    }
    const headers: Record<string, string> = {};
    if (page.nextCursor) {
      headers.link = `</files?limit=${limit}&cursor=${
        encodeURIComponent(page.nextCursor)
      }>; rel="next"`;
    }
    return noStoreJson(page, { headers });
  };
}
