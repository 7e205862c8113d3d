/**
 * An admitted upload's body through the reader/writer pipeline
 * (services/uploads/pipeline.ts): read as its media type and coding say
 * (raw, or a form's file part; decoded), written through the storage's
 * upload, under the upload settings and the slot's stop signal.
 *
 * @module
 */

import { uploadBody } from "../../services/uploads/upload_body.ts";
import type { UploadMediaKind } from "../../services/uploads/media_type.ts";
import type { RequestCoding } from "../../services/http/request_coding.ts";
import { receiveUpload } from "../../services/uploads/pipeline.ts";
import type { UploadResult } from "../../services/uploads/upload_figures.ts";
import type { UploadSlot } from "../../services/uploads/tracker.ts";
import type { LiveUpload } from "../../services/uploads/board.ts";
import type { FilesOptions } from "./routes.ts";

/** What an admitted upload reads, as {@linkcode uploadBody} takes it. */
export interface UploadPlan {
  kind: Exclude<UploadMediaKind, "unsupported">;
  declared: { length?: number; freeBytes?: number; sha256?: Uint8Array };
  /** The file id: the client's `Upload-Id`, or a fresh one. */
  id: string;
  /**
   * Who chose the id: the client (`Upload-Id`), the path (`PUT
   * /files/<id>`, with its preconditions) or the server. A chosen one may
   * be taken already.
   */
  chosen: "client" | "path" | "server";
  /** The body's `Content-Encoding`, decoded before the reader. */
  coding: RequestCoding;
  /** The name `PUT /files/<name>` gives the file (cleaned). */
  filename?: string;
}

/** Options of {@linkcode receiveBody}. */
export interface ReceiveBodyOptions {
  plan: UploadPlan;
  /** The upload's slot: its signal stops the upload (503). */
  slot: UploadSlot;
  /** Its entry on the board, which the pipeline's figures feed. */
  live: LiveUpload;
  /** The storage and the upload settings. */
  options: FilesOptions;
  /** The request's id, on the pipeline's log lines. */
  requestId: string;
}

/** Runs the pipeline on `req`'s body; resolves the committed upload. */
export function receiveBody(
  req: Request,
  { plan, slot, live, options, requestId }: ReceiveBodyOptions,
): Promise<UploadResult> {
  const { store, maxUploadBytes, queueBytes, writeBytes, logger } = options;
  const { idleTimeoutMs, minBytesPerSecond, rateGraceMs, hash } = options;
  const source = uploadBody(req, plan);
  return receiveUpload(source.stream, {
    // The pipeline writes through the storage's upload and commits or
    // aborts it.
    begin: () => store.begin(plan.id),
    maxBytes: maxUploadBytes,
    queueBytes,
    writeBytes,
    idleTimeoutMs,
    minBytesPerSecond,
    rateGraceMs,
    // Aborted when a shutdown's grace period runs out (503).
    signal: slot.signal,
    bufferAccount: slot.buffers,
    ...(source.expectedLength === undefined
      ? {}
      : { expectedLength: source.expectedLength }),
    ...(source.expectedSha256 === undefined
      ? {}
      : { expectedSha256: source.expectedSha256 }),
    ...(source.describe === undefined ? {} : { describe: source.describe }),
    ...(source.progress === undefined ? {} : { bodyProgress: source.progress }),
    ...(hash === undefined ? {} : { hash }),
    // No req.signal: a client that goes away makes the body read fail,
    // which stops the pipeline just as well, and touching req.signal
    // would opt into Deno 2.9's legacy abort-on-success behaviour.
    logger,
    logFields: { requestId },
    observe: live.observe,
  });
}
