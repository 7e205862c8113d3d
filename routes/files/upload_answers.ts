/**
 * The upload route's answers that need nothing but their inputs: the 201
 * of a committed upload (its figures in the body and in `Server-Timing`),
 * and the refusals of a body it does not take (415, and what is not a
 * whole file as sent: 400, 501).
 *
 * @module
 */

import type { UploadResult } from "../../services/uploads/upload_figures.ts";
import type { RouteContext } from "../router.ts";
import { refusingBody } from "../../services/http/connection_close.ts";
import { problem } from "../../services/http/problem.ts";
import {
  hasOtherTransferCoding,
  partialBodyRefused,
  transferCodingNotImplemented,
} from "../../services/http/body_framing.ts";
import type { UploadResultBody } from "./schemas.ts";

/**
 * The 201 of `result`: its figures as JSON (without the base64 digest,
 * which `Repr-Digest` carries), where the file is, and where the time went.
 */
export function createdResponse(result: UploadResult): Response {
  const { sha256Base64: _, ...rest } = result;
  const body: UploadResultBody = rest;
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  return new Response(bytes, {
    status: 201,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(bytes.byteLength),
      "location": `/files/${result.id}`,
      "repr-digest": `sha-256=:${result.sha256Base64}:`,
      "etag": `"${result.sha256}"`,
      "cache-control": "no-store",
      "server-timing": [
        `read;dur=${result.readerWaitMs};desc="reader in body reads"`,
        `blocked;dur=${result.readerBlockedMs};desc="reader in put on a full queue"`,
        `write;dur=${result.writerWriteMs};desc="writer in storage writes"`,
        `idle;dur=${result.writerIdleMs};desc="writer in get on an empty queue"`,
        `hash;dur=${result.writerHashWaitMs};desc="writer waiting on the SHA-256"`,
        `total;dur=${result.durationMs}`,
      ].join(", "),
    },
  });
}

// What an upload's Content-Type may be (RFC 9110 15.5.16: a 415 says it).
const ACCEPTED_UPLOADS = "application/octet-stream, multipart/form-data";

/** 415 for an urlencoded form or a multipart type other than form-data. */
export function unsupportedMediaType(ctx: RouteContext): Response {
  return refusingBody(problem(415, {
    detail: "Send the file's bytes as the body (any type but a form, e.g. " +
      "application/octet-stream: curl -T file, or --data-binary @file with " +
      "-H 'Content-Type: application/octet-stream'), or as the one file " +
      "part of a multipart/form-data form (curl -F file=@file)",
    instance: ctx.url.pathname,
  }, { headers: { "accept-post": ACCEPTED_UPLOADS } }));
}

/**
 * The refusal of a body that is not a whole file as it arrives, else
 * `undefined`: one still in a transfer coding besides `chunked` (501, see
 * `body_framing.ts`), or one that says it is a piece of a file
 * (`Content-Range`, sent by resumable clients): 400, as RFC 9110 14.5 asks
 * of a PUT with it, since the service takes no partial uploads and would
 * store the piece as the whole file.
 */
export function notAWholeFile(
  headers: Headers,
  ctx: RouteContext,
): Response | undefined {
  const instance = ctx.url.pathname;
  if (hasOtherTransferCoding(headers)) {
    return refusingBody(transferCodingNotImplemented(instance));
  }
  const partial = partialBodyRefused(headers, instance);
  return partial && refusingBody(partial);
}

/**
 * 400 for a `Content-Digest`/`Repr-Digest` that is no `sha-256` digest, or
 * two that disagree; given before the body is read.
 */
export function malformedDigest(ctx: RouteContext): Response {
  return refusingBody(problem(400, {
    title: "Malformed digest",
    detail: "Content-Digest/Repr-Digest must be like " +
      "sha-256=:<base64>:, and agree when both are sent",
    instance: ctx.url.pathname,
  }));
}

/**
 * 400 for an upload announcing its `Content-Digest`/`Repr-Digest` as a
 * trailer (and none in its head): the runtime drops request trailers, so
 * the digest could not be checked; given before the body is read, so the
 * client learns it before sending the file.
 */
export function trailerDigest(ctx: RouteContext): Response {
  return refusingBody(problem(400, {
    title: "Digest in a trailer",
    detail: "A Content-Digest/Repr-Digest trailer is not read here " +
      "(request trailers are dropped): send it as a header field",
    instance: ctx.url.pathname,
  }));
}
