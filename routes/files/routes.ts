/**
 * The file routes: `POST /files` (and `POST /file`, `PUT /files`, `PUT
 * /files/<name>`) stream a body to disk through the reader/writer pipeline
 * (see `upload.ts`); `GET /files` lists
 * (`list.ts`); `GET`/`HEAD /files/:id` stream a file back (`download.ts`);
 * `DELETE /files/:id` removes it (`remove.ts`); `GET /uploads` and
 * `GET /uploads/events` show the uploads in flight (`progress.ts`), and
 * `GET /upload` is a page that uploads and shows them (`upload_page.ts`).
 * Limits, auth and integrity failures are answered as problem responses, and
 * nothing partial is ever kept.
 *
 * @module
 */

import {
  type FileStorage,
  StorageClockError,
  StorageFullError,
  StorageMissingError,
  StorageRefusedError,
  StorageUnavailableError,
  StorageUnwritableError,
} from "../../services/storage/storage.ts";
import type { Logger } from "../../services/ops/logger.ts";
import { CountedLine } from "../../services/ops/counted_line.ts";
import { bearerChallenge } from "../../services/http/bearer.ts";
import { problem } from "../../services/http/problem.ts";
import type { HashFactory } from "../../services/uploads/content_hash.ts";
import type { UploadResult } from "../../services/uploads/upload_figures.ts";
import type { UploadTracker } from "../../services/uploads/tracker.ts";
import type { UploadBoard } from "../../services/uploads/board.ts";
import type { UploadWatchers } from "../../services/uploads/watchers.ts";
import { downloadHandler } from "./download.ts";
import { uploadHandler } from "./upload.ts";
import { listHandler } from "./list.ts";
import { removeHandler } from "./remove.ts";
import { progressRoutes } from "./progress.ts";
import { uploadPageRoutes } from "./upload_page.ts";
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
  /** Longest a download's client may read nothing before it is closed. */
  downloadIdleTimeoutMs: number;
  /** Most uploads at once; more get 503. */
  maxConcurrentUploads: number;
  /** Most uploads at once from one client address (0: no cap); more get 429. */
  maxUploadsPerClient: number;
  /** Lowest average body rate past `rateGraceMs` (0: none); below it 408. */
  minBytesPerSecond: number;
  /** How long a body may take before the rate floor applies. */
  rateGraceMs: number;
  /**
   * When set, uploads (POST, PUT), deletes and `GET /uploads(/events)` need
   * `Authorization: Bearer <token>`.
   */
  token: string | undefined;
  /** Whether the service is shutting down (new uploads get 503). */
  draining: () => boolean;
  /** Request lines, upload summaries and the debug trace. */
  logger: Logger;
  /** The uploads in flight by id, with their live figures. */
  board: UploadBoard;
  /** The subscribers of `GET /uploads/events`. */
  watchers: UploadWatchers;
  /** Observes each upload's end (metrics). */
  onUpload?: (event: UploadEvent) => void;
  /** Where uploads' SHA-256 is computed. @default {inlineHash} */
  hash?: HashFactory;
}

/** How an upload ended. */
export type UploadOutcome =
  | "created"
  | "too_large"
  | "aborted"
  | "incomplete"
  | "length_required"
  | "timeout"
  | "too_slow"
  | "frames_too_small"
  | "trailer_flood"
  | "digest_mismatch"
  | "no_space"
  | "unauthorized"
  | "busy"
  | "client_limit"
  | "stopped"
  | "unsupported"
  | "invalid_form"
  | "invalid_coding"
  | "invalid_id"
  | "invalid_digest"
  | "invalid_length"
  | "conflict"
  | "error";

/** What {@linkcode FilesOptions.onUpload} sees. */
export interface UploadEvent {
  outcome: UploadOutcome;
  bytes: number;
  result?: UploadResult;
}

/** 401 when `token` is set and the request does not carry it, else `undefined`. */
function checkBearer(
  token: string | undefined,
  req: Request,
  ctx: RouteContext,
): Response | undefined {
  if (token === undefined) return undefined;
  return bearerChallenge(
    req.headers.get("authorization"),
    token,
    ctx.url.pathname,
  );
}

/** 503 for unreachable storage (logged, throttled); rethrows any other error. */
function storageUnavailableAnswer(
  log: CountedLine<string>,
  error: unknown,
  ctx: RouteContext,
): Response {
  if (
    !(error instanceof StorageUnavailableError) &&
    !(error instanceof Deno.errors.NotFound)
  ) {
    throw error;
  }
  // By the failure's kind; the first in full, then one counted line at
  // most every 10 s: an outage fails every request to the files, and a
  // line each wrote 5,260 error lines (6 MB) in 8 s of `wrk -c8` with
  // radosgw stopped. The access line still gives each 503 and its id.
  const kind = error instanceof Error ? error.name : typeof error;
  log.record(kind, { requestId: ctx.requestId, error });
  // The cause (hosts, ports) goes to the log, not to the client.
  const cause = error instanceof StorageFullError
    ? "The file storage refuses more data for now (full or over its quota)"
    : error instanceof StorageMissingError
    ? "The file storage's bucket is missing for now"
    : error instanceof StorageClockError
    ? "The file storage refuses this service's requests for now (clocks apart)"
    : error instanceof StorageRefusedError
    ? "The file storage refuses this service's credentials for now"
    : error instanceof StorageUnwritableError
    ? "The file storage takes no writes for now"
    : error instanceof StorageUnavailableError
    ? "The file storage cannot be reached or used for now"
    : "The file storage folder is missing and could not be made";
  return problem(503, {
    title: "Storage unavailable",
    // Only an upload (POST, or PUT as `curl -T` sends) has something to
    // keep; a read or a delete did nothing.
    detail: ctx.method === "POST" || ctx.method === "PUT"
      ? `${cause}; nothing was kept`
      : cause,
    instance: ctx.url.pathname,
  }, { headers: { "retry-after": "5", connection: "close" } });
}

/** `handler`, answering 503 when the storage is unreachable (an S3 store down). */
function orUnavailable(
  handler: Handler,
  unavailable: (error: unknown, ctx: RouteContext) => Response,
): Handler {
  return async (req, ctx) => {
    try {
      return await handler(req, ctx);
    } catch (error) {
      return unavailable(error, ctx);
    }
  };
}

/**
 * The routes of `upload`: `POST /files` (and `/file`), `PUT /files` (`curl
 * -T file URL`), taken slashed as well (`curl -T - URL/` from a pipe, `curl
 * -F f=@x URL/`: a 308 would have the body sent again, which a pipe cannot;
 * curl showed the empty 308, exited 0, and nothing was stored), and `PUT
 * /files/<name or id>` (`curl -T big.bin URL/`: upload_target.ts). That
 * pattern is the download's: the router takes the first pattern that
 * matches a path, whatever the method.
 */
function uploadRoutes(upload: Handler): Route[] {
  const slashed = { handler: upload, trailingSlash: "same" } as const;
  return [
    { method: "POST", pattern: "/files", ...slashed },
    { method: "PUT", pattern: "/files", ...slashed },
    { method: "POST", pattern: "/file", ...slashed },
    { method: "PUT", pattern: "/files/:id", handler: upload },
  ];
}

/** The route table entries of the upload API. */
export function filesRoutes(
  options: FilesOptions,
  tracker: UploadTracker,
): Route[] {
  const { store, token, logger, watchers } = options;
  const unauthorized = (req: Request, ctx: RouteContext) =>
    checkBearer(token, req, ctx);
  const unavailableLog = new CountedLine<string>({
    logger,
    msg: "files.storage_unavailable",
    level: "error",
    countsAs: "repeated",
  });
  const storageUnavailable = (error: unknown, ctx: RouteContext) =>
    storageUnavailableAnswer(unavailableLog, error, ctx);
  const upload = uploadHandler(options, tracker, {
    unauthorized,
    storageUnavailable,
  });
  return [
    ...uploadRoutes(upload),
    {
      method: "GET",
      pattern: "/files",
      handler: listHandler(store, storageUnavailable),
    },
    {
      method: "GET",
      pattern: "/files/:id",
      handler: orUnavailable(
        downloadHandler(store, {
          idleTimeoutMs: options.downloadIdleTimeoutMs,
        }),
        storageUnavailable,
      ),
    },
    {
      method: "DELETE",
      pattern: "/files/:id",
      handler: orUnavailable(
        removeHandler(store, unauthorized, logger),
        storageUnavailable,
      ),
    },
    ...progressRoutes({ watchers, unauthorized }),
    ...uploadPageRoutes(),
  ];
}
