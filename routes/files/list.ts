/**
 * `GET /files`: one page of the stored files, oldest first, with a `Link`
 * to the next page.
 *
 * @module
 */

import { noStoreJson } from "../../services/http/no_store_json.ts";
import { problem } from "../../services/http/problem.ts";
import {
  type FileStorage,
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
