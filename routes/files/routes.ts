/**
 * The file routes: `POST /files` (and `POST /file`) stream a body to disk
 * through the reader/writer pipeline (see `upload.ts`); `GET /files` lists;
 * `GET`/`HEAD /files/:id` stream a file back (see `download.ts`); `DELETE
 * /files/:id` removes it. Limits, auth and integrity failures are answered
 * as problem responses, and nothing partial is ever kept.
 *
 * @module
 */

import {
  type FileStorage,
  StorageUnavailableError,
} from "../../services/storage/storage.ts";
import type { Logger } from "../../services/ops/logger.ts";
import { bearerMatches } from "../../services/http/bearer.ts";
import { problem } from "../../services/http/problem.ts";
import type { UploadResult } from "../../services/uploads/pipeline.ts";
import type { UploadTracker } from "../../services/uploads/tracker.ts";
import { downloadHandler } from "./download.ts";
import { uploadHandler } from "./upload.ts";
import type { Handler, Route, RouteContext } from "../router.ts";

/** Settings of the upload routes. */
export interface FilesOptions {
  /** Where files live. */
  store: FileStorage;
  /** Largest accepted upload in bytes. */
  maxUploadBytes: number;
  /** Capacity of the reader->writer queue in bytes. */
  queueBytes: number;
  /** Coalesced write size in bytes. */
  writeBytes: number;
  /** Longest wait for the next body chunk. */
  idleTimeoutMs: number;
  /** Most uploads at once; more get 503. */
  maxConcurrentUploads: number;
  /** Most uploads at once from one client address (0: no cap); more get 429. */
  maxUploadsPerClient: number;
  /** Lowest average body rate past `rateGraceMs` (0: none); below it 408. */
  minBytesPerSecond: number;
  /** How long a body may take before the rate floor applies. */
  rateGraceMs: number;
  /** When set, POST and DELETE need `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Whether the service is shutting down (new uploads get 503). */
  draining: () => boolean;
  /** Request lines, upload summaries and the debug trace. */
  logger: Logger;
  /** Observes each upload's end (metrics). */
  onUpload?: (event: UploadEvent) => void;
}

/** How an upload ended. */
export type UploadOutcome =
  | "created"
  | "too_large"
  | "aborted"
  | "incomplete"
  | "timeout"
  | "too_slow"
  | "digest_mismatch"
  | "no_space"
  | "unauthorized"
  | "busy"
  | "client_limit"
  | "stopped"
  | "unsupported"
  | "invalid_form"
  | "error";

/** What {@linkcode FilesOptions.onUpload} sees. */
export interface UploadEvent {
  outcome: UploadOutcome;
  bytes: number;
  result?: UploadResult;
}

/** The route table entries of the upload API. */
export function filesRoutes(
  options: FilesOptions,
  tracker: UploadTracker,
): Route[] {
  const { store, token, logger } = options;

  const unauthorized = (
    req: Request,
    ctx: RouteContext,
  ): Response | undefined => {
    if (token === undefined) return undefined;
    if (bearerMatches(req.headers.get("authorization"), token)) {
      return undefined;
    }
    const given = req.headers.has("authorization");
    return problem(401, {
      detail: given
        ? "The bearer token is not valid"
        : "This operation needs Authorization: Bearer <token>",
      instance: ctx.url.pathname,
    }, {
      headers: {
        "www-authenticate": given
          ? 'Bearer realm="async-api", error="invalid_token"'
          : 'Bearer realm="async-api"',
      },
    });
  };

  const storageUnavailable = (error: unknown, ctx: RouteContext) => {
    if (
      !(error instanceof StorageUnavailableError) &&
      !(error instanceof Deno.errors.NotFound)
    ) {
      throw error;
    }
    logger.error("files.storage_unavailable", {
      requestId: ctx.requestId,
      error,
    });
    return problem(503, {
      title: "Storage unavailable",
      detail:
        "The file storage folder is missing and could not be made; nothing was kept",
      instance: ctx.url.pathname,
    }, { headers: { "retry-after": "5", connection: "close" } });
  };

  const notFound = (ctx: RouteContext) =>
    problem(404, {
      detail: "No such file",
      instance: ctx.url.pathname,
    });

  const upload = uploadHandler(options, tracker, {
    unauthorized,
    storageUnavailable,
  });

  const list: Handler = async (_req, ctx) => {
    const params = ctx.url.searchParams;
    const limitParam = params.get("limit");
    // `?cursor=` (empty) is the first page, as when it is left out.
    const cursor = params.get("cursor") || undefined;
    const limit = limitParam === null ? 100 : Number(limitParam);
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
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    };
    if (page.nextCursor) {
      headers.link = `</files?limit=${limit}&cursor=${
        encodeURIComponent(page.nextCursor)
      }>; rel="next"`;
    }
    return new Response(JSON.stringify(page), { headers });
  };

  const remove: Handler = async (req, ctx) => {
    const denied = unauthorized(req, ctx);
    if (denied) return denied;
    const removed = await store.delete(ctx.params.id ?? "");
    if (!removed) return notFound(ctx);
    logger.info("file.deleted", {
      requestId: ctx.requestId,
      id: ctx.params.id,
    });
    return new Response(null, { status: 204 });
  };

  return [
    { method: "POST", pattern: "/files", handler: upload },
    // `curl -T file URL` sends PUT: take it the same way.
    { method: "PUT", pattern: "/files", handler: upload },
    { method: "GET", pattern: "/files", handler: list },
    { method: "POST", pattern: "/file", handler: upload },
    { method: "GET", pattern: "/files/:id", handler: downloadHandler(store) },
    { method: "DELETE", pattern: "/files/:id", handler: remove },
  ];
}
