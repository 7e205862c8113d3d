/**
 * `GET /files`: one page of the stored files, oldest first, with a `Link`
 * to the next page.
 *
 * @module
 */

import { problem } from "../../services/http/problem.ts";
import {
  type FileStorage,
  StorageUnavailableError,
} from "../../services/storage/storage.ts";
import type { Handler, RouteContext } from "../router.ts";
import { DEFAULT_LIST_LIMIT } from "./schemas.ts";

const encoder = new TextEncoder();

/** The handler of `GET /files`. */
export function listHandler(
  store: FileStorage,
  storageUnavailable: (error: unknown, ctx: RouteContext) => Response,
): Handler {
  return async (_req, ctx) => {
    const params = ctx.url.searchParams;
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
    // Its length said, as every answer from memory here: the access log
    // reads the body's length off Content-Length (it logged 0 without).
    const bytes = encoder.encode(JSON.stringify(page));
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(bytes.byteLength),
      "cache-control": "no-store",
    };
    if (page.nextCursor) {
      headers.link = `</files?limit=${limit}&cursor=${
        encodeURIComponent(page.nextCursor)
      }>; rel="next"`;
    }
    return new Response(bytes, { headers });
  };
}
