/**
 * What `PUT /files/<segment>` says of the file it uploads (`curl -T
 * big.bin http://host/files/` sends `PUT /files/big.bin`, as it does to
 * transfer.sh-style services): a segment that is a file id (32 lowercase
 * hex characters) is the id the file is created under, as `Upload-Id`
 * gives one (409 when a file of it is stored: the service replaces no
 * file, so a PUT never says it did); any other segment is the file's name,
 * percent-decoded and cleaned as a form part's filename is
 * (services/http/printable_name.ts), and the file gets a new id, which
 * `Location` gives. `PUT /files` and `POST` name nothing here. A PUT to an
 * id honours `If-Match` and `If-None-Match` ({@linkcode putPreconditionRefusal}).
 *
 * @module
 */

import { uploadedFileName } from "../../services/http/printable_name.ts";
import { refusingBody } from "../../services/http/connection_close.ts";
import { problem } from "../../services/http/problem.ts";
import {
  type FileMetadata,
  isValidId,
} from "../../services/storage/metadata.ts";
import {
  evaluatePreconditions,
  preconditionFailed,
} from "../../services/http/conditional.ts";
import { fileValidators } from "./download.ts";

/** The id the path asks for, or the name it gives (both may be absent). */
export interface UploadTarget {
  /** The file id the path is (`PUT /files/<id>`). */
  id?: string;
  /** The cleaned name the path gives (`PUT /files/<name>`). */
  filename?: string;
}

/** Options of {@linkcode uploadTarget}. */
export interface UploadTargetOptions {
  /** The request's `Upload-Id` (already checked well-formed), or null. */
  given: string | null;
  /** The request's path, for a problem's `instance`. */
  instance: string;
}

const decoder = new TextDecoder();
const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * `text` with its `%XX` escapes undone as UTF-8 (what curl sends for a
 * name: `my%20file.bin`). Leniently: bytes that are no UTF-8 (a Latin-1
 * name, `caf%E9`) become U+FFFD, where decodeURIComponent throws, and a
 * `%` not followed by two hex digits stays as it is.
 */
function percentDecoded(text: string): string {
  return text.replace(PERCENT_RUN, (run) =>
    decoder.decode(
      Uint8Array.from(run.slice(1).split("%"), (hex) => parseInt(hex, 16)),
    ));
}

/**
 * What the path's last segment (`segment`: the route's `:id`, undefined on
 * `/files`) says, or 400 for an id in the path and another in `Upload-Id`.
 */
export function uploadTarget(
  segment: string | undefined,
  { given, instance }: UploadTargetOptions,
): UploadTarget | Response {
  if (segment === undefined) return {};
  if (isValidId(segment)) {
    if (given === null || given === segment) return { id: segment };
    return refusingBody(problem(400, {
      title: "Invalid Upload-Id",
      detail: "Upload-Id names another id than the path: send one of them",
      instance,
    }));
  }
  const filename = uploadedFileName(percentDecoded(segment));
  return filename === undefined ? {} : { filename };
}

/**
 * The 412 that `PUT /files/<id>`'s preconditions ask for (RFC 9110 13.1),
 * else `undefined`; `stored` is the file of the id, if any. Past them, a
 * stored file is still 409: the PUT would replace it, which the service
 * does not do. Without a file, `If-Match` is false (13.1.1: it was a 201
 * that created what the client meant to replace) and `If-None-Match` true;
 * with one, `If-None-Match: *` (create only) or its `ETag` is false.
 */
export function putPreconditionRefusal(
  headers: Headers,
  stored: FileMetadata | undefined,
  instance: string,
): Response | undefined {
  if (stored === undefined) {
    if (!headers.has("if-match")) return undefined;
    return refusingBody(problem(412, {
      detail: "No file is stored under this id: If-Match cannot hold " +
        "(nothing was kept)",
      instance,
    }));
  }
  const validators = fileValidators(stored);
  return evaluatePreconditions("PUT", headers, validators) === "failed"
    ? refusingBody(preconditionFailed(instance, validators.etag))
    : undefined;
}
