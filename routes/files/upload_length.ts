/**
 * An upload's declared `Content-Length`, checked before any body byte is
 * read: 400 when it is no number, 413 over `MAX_UPLOAD_BYTES` (with room
 * for what a form or a coding adds to the file), 507 over the free disk
 * space, and, as the upload takes its slot, 507 over the free space less
 * what the uploads in flight declared and have not sent yet.
 *
 * @module
 */

import type { RequestCoding } from "../../services/http/request_coding.ts";
import { parseContentLength } from "../../services/http/content_length.ts";
import { refusingBody } from "../../services/http/connection_close.ts";
import { problem } from "../../services/http/problem.ts";
import { CountedLine } from "../../services/ops/counted_line.ts";
import type { Logger } from "../../services/ops/logger.ts";
import type { UploadMediaKind } from "../../services/uploads/media_type.ts";
import type { FileStorage } from "../../services/storage/storage.ts";
import type { UploadBoard } from "../../services/uploads/board.ts";
import type { UploadOutcome } from "./routes.ts";

// Allowed on top of MAX_UPLOAD_BYTES in a form's declared length: its
// boundaries, part headers and (ignored) small fields; and in a coded
// body's, what gzip or deflate adds to bytes that do not compress (5 bytes
// per 16 KiB block at worst: 320 KiB on 1 GiB).
const FORM_OVERHEAD_BYTES = 1024 * 1024;
const CODING_OVERHEAD_BYTES = 1024 * 1024;

/** What {@linkcode declaredLength} checks the length against. */
export interface DeclaredLengthOptions {
  kind: Exclude<UploadMediaKind, "unsupported">;
  coding: RequestCoding;
  store: Pick<FileStorage, "freeBytes">;
  maxUploadBytes: number;
  /** The path the problems name. */
  instance: string;
}

/** A refused upload: its answer, and the outcome counted (if any). */
export interface UploadRefusal {
  outcome?: UploadOutcome;
  response: Response;
  /** Why, for the log line of a refusal an operator must hear of (507). */
  detail?: string;
}

/**
 * A declared length that passed: `length` (none: chunked) and the free
 * disk space it was checked against (none: not known, as on S3).
 */
export interface DeclaredLength {
  length?: number;
  freeBytes?: number;
}

/**
 * The declared `Content-Length` and the free space, or the refusal of the
 * upload.
 */
export async function declaredLength(
  headers: Headers,
  options: DeclaredLengthOptions,
): Promise<DeclaredLength | UploadRefusal> {
  const { kind, coding, store, maxUploadBytes, instance } = options;
  const header = headers.get("content-length");
  if (header === null) return {};
  const length = parseContentLength(header);
  if (length === undefined) {
    const detail = "Content-Length is not a number";
    return {
      outcome: "invalid_length",
      response: refusingBody(problem(400, { detail, instance })),
    };
  }
  // A form carries a little more than its file: its boundaries, part
  // headers and small fields (bounded by the parser's limits). A coded
  // body may be a little larger than its file; past the limit once
  // decoded, it gets 413 as it streams.
  const limit = maxUploadBytes +
    (kind === "multipart" ? FORM_OVERHEAD_BYTES : 0) +
    (coding === "identity" ? 0 : CODING_OVERHEAD_BYTES);
  if (length > limit) {
    return {
      outcome: "too_large",
      response: refusingBody(problem(413, {
        detail:
          `The upload of ${length} bytes exceeds the limit of ${maxUploadBytes} bytes`,
        instance,
        maxBytes: maxUploadBytes,
      })),
    };
  }
  // A form's length counts its bytes outside the file too: a few hundred
  // for one file part, less than the 4 KiB block its sidecar takes, so no
  // such form that fits is refused; one with kilobytes of (ignored) fields
  // may be, by their size at most (1 MiB). The file's lower bound (length
  // less 1 MiB) would let a small form on a nearly full disk send its
  // whole body before its 507.
  const free = await store.freeBytes();
  if (free !== undefined && length > free) return noSpace(length, instance);
  return free === undefined ? { length } : { length, freeBytes: free };
}

/**
 * 507 when the declared length does not fit in the free space less what
 * the uploads on `board` declared and have not received yet: each checked
 * alone against the free space, 4 uploads of 5 MiB sent slowly at once on
 * 16 MiB free were all taken and filled the disk under each other, 1
 * stored and 3 failing with 507 part-way (now 3 stored, the fourth refused
 * before its body). Run as the upload takes its slot, with no await in
 * between, so uploads that arrive together count each other. Chunked and
 * coded uploads say no file size: they promise nothing and are counted by
 * what they write. Bytes received and still queued for the disk count in
 * neither figure (up to UPLOAD_QUEUE_BYTES an upload): the bound is close,
 * not exact.
 */
export function promisedSpaceRefusal(
  declared: DeclaredLength,
  board: Pick<UploadBoard, "list">,
  instance: string,
): UploadRefusal | undefined {
  const { length, freeBytes } = declared;
  if (length === undefined || freeBytes === undefined) return undefined;
  let promised = 0;
  for (const { declaredLength, bytesReceived } of board.list()) {
    if (declaredLength !== undefined) {
      promised += Math.max(0, declaredLength - bytesReceived);
    }
  }
  return length > freeBytes - promised ? noSpace(length, instance) : undefined;
}

/**
 * The error line of the 507s, one a burst: a full disk is the operator's
 * to fix, and only the access lines (info, `"upload":"no_space"`) told it,
 * nothing at `LOG_LEVEL=warn`. `before_body` counts those refused for
 * their declared length, `during_body` those the disk filled under (a body
 * of no declared length): each of these was a line of its own, a flood of
 * them a line per upload.
 */
export function noSpaceLine(
  logger: Logger,
): CountedLine<"before_body" | "during_body"> {
  return new CountedLine({
    logger,
    msg: "upload.no_space",
    level: "error",
    countsAs: "refused",
  });
}

/** The 507 of an upload the disk has no room for. */
function noSpace(length: number, instance: string): UploadRefusal {
  const detail = `Not enough free disk space for ${length} bytes`;
  return {
    outcome: "no_space",
    response: refusingBody(problem(507, { detail, instance })),
    detail,
  };
}
