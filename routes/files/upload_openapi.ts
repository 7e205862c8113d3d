/**
 * The OpenAPI description of an upload (`POST`/`PUT /files`, `POST
 * /file`): its body, headers and answers.
 *
 * @module
 */

import type {
  OperationDescription,
  ParameterObject,
  RequestBodyObject,
} from "../../services/ops/openapi.ts";
import { jsonSchemaOf } from "../../services/ops/openapi.ts";
import {
  DEFAULT_ERROR,
  headerRef,
  json,
  problemResponse,
  responseRef,
  retryLater,
  schemaRef,
  textHeader,
  UNCACHED_HEADERS,
} from "../../services/ops/openapi_parts.ts";
import { FileIdSchema } from "../../services/storage/metadata.ts";

/** No token needed, or the bearer `UPLOAD_TOKEN` when it is set. */
export const OPTIONAL_BEARER = [{}, { bearer: [] }] as const;

/** The body of an upload: the bytes, or a form with one file part. */
const UPLOAD_BODY: RequestBodyObject = {
  // Not a header parameter: generated clients offered it as an option of
  // its own, and a client that set it without compressing got 400.
  description: "The file's bytes, or a form with the file as its one " +
    "file part. Either may be sent compressed, in `gzip` (several members " +
    "one after another too) or `deflate`, by a client that then names that " +
    "coding in `Content-Encoding` (RFC 9110 8.4): the header says how the " +
    "body was compressed, so it is set by what compresses it, with it " +
    "(`curl --compressed` does not compress uploads: `gzip -c f | curl -T - " +
    "-H 'Content-Encoding: gzip'`). The file is what the body decodes to; " +
    "a digest header is then of the body as sent, coded. Zeros after the " +
    "end of the coded data (tar, dd padding) are skipped. Another coding is " +
    "415; a body not in the coding it names, or with other bytes after its " +
    "end, 400.",
  required: true,
  content: {
    // OpenAPI 3.1's form of bytes as they are: an empty schema. 3.0's
    // `type: string, format: binary` reads in 3.1 as a JSON string, and a
    // validating generated client (@hey-api/openapi-ts with zod) refused a
    // Blob for it.
    "application/octet-stream": { schema: {} },
    "multipart/form-data": {
      schema: {
        type: "object",
        required: ["file"],
        properties: {
          // A part of bytes (3.1's contentMediaType, which Swagger UI
          // gives a file picker), not a string.
          file: {
            contentMediaType: "application/octet-stream",
            description: "The one file part (any field name); other " +
              "fields are ignored. A `Content-Digest` covers the whole " +
              "form.",
          },
        },
      },
    },
    // Bytes of any other type too (image/png, text/csv): the service
    // keeps the type and serves the download as it. Without the range,
    // Prism (`prism proxy --errors`) refused such an upload with 415 as
    // undocumented, where the service stores it. Last, so tools that
    // offer the first type still offer octet-stream.
    "*/*": { schema: {} },
  },
};

/** The answers to an upload. */
const UPLOAD_RESPONSES: OperationDescription["responses"] = {
  "201": {
    description: "Stored.",
    headers: {
      "Location": headerRef("Location"),
      "Repr-Digest": headerRef("ReprDigest"),
      "ETag": headerRef("ETag"),
      "Server-Timing": headerRef("ServerTiming"),
      ...UNCACHED_HEADERS,
    },
    content: json(schemaRef("UploadResult")),
  },
  "400": problemResponse(
    "A malformed `Content-Length`, digest or `Upload-Id` header, a digest mismatch, " +
      "a digest announced as a trailer, " +
      "a body that ended early or is not in its `Content-Encoding`, or a " +
      "form without exactly one file part or cut off, or a body with a " +
      "`Content-Range` (a piece of a file; RFC 9110 14.5), or chunks " +
      "averaging under 8 KiB sent faster than they are read (`Chunks too " +
      "small`) (nothing kept).",
  ),
  "401": responseRef("Unauthorized"),
  "408": problemResponse(
    "No data arrived for `UPLOAD_IDLE_TIMEOUT_MS`, or the body averaged " +
      "less than `UPLOAD_MIN_BYTES_PER_SECOND` once past " +
      "`UPLOAD_RATE_WINDOW_MS` (nothing kept).",
  ),
  "409": retryLater(
    "The `Upload-Id` is taken (nothing of this upload kept). By a stored " +
      "file (title `Upload-Id taken`, no `Retry-After`): `GET " +
      "/files/{id}` reads it, its `Repr-Digest` telling whether it is " +
      "these bytes (a retry after a lost 201); `DELETE` it to store " +
      "others under the id. By an upload still running, here or on " +
      "another instance (title `Upload-Id in use`, `Retry-After: 1`): " +
      "nothing is stored yet (`GET /files/{id}` 404) and it may still " +
      "fail; once it ended (`GET /uploads/events?id=`), `GET " +
      "/files/{id}`, and upload again if that is still 404.",
  ),
  "411": problemResponse(
    "The body came with neither `Content-Length` nor `Transfer-Encoding` " +
      "(an HTTP/1.0 client streaming it) and so, over HTTP/1.x, is empty " +
      "(RFC 9112 6.3): send `Content-Length`, or chunked (nothing kept). " +
      "An empty file is sent with `Content-Length: 0`.",
  ),
  "413": problemResponse(
    "The upload is larger than `MAX_UPLOAD_BYTES` (decoded, when sent " +
      "with a `Content-Encoding`).",
  ),
  "415": {
    ...problemResponse(
      "An urlencoded form (on `POST`: a `PUT`'s, what `wget " +
        "--method=PUT --body-file` sends, is taken as the bytes, its type " +
        "not kept) or a multipart type other than form-data " +
        "(`Accept-Post` lists what is taken), or a `Content-Encoding` " +
        "other than `gzip` or `deflate` (`Accept-Encoding` names those).",
    ),
    headers: {
      "Accept-Post": headerRef("UploadAcceptPost"),
      "Accept-Encoding": headerRef("AcceptRequestEncoding"),
      ...UNCACHED_HEADERS,
    },
  },
  "429": retryLater(
    "This client address already runs `MAX_UPLOADS_PER_CLIENT` uploads.",
  ),
  "431": problemResponse(
    "A chunked body's read waited 1 s or more while the server grew " +
      "64 MiB: header fields after its last chunk that do not end " +
      "(nothing kept).",
  ),
  "503": retryLater(
    "`MAX_CONCURRENT_UPLOADS` uploads are running, or the service is " +
      "shutting down (an upload still running when " +
      "`SHUTDOWN_GRACE_MS` ran out is stopped with this answer and " +
      "`Connection: close`; nothing kept), or the worker thread hashing " +
      "the upload ended under it (nothing kept; a new worker follows), " +
      "or the file storage cannot be reached, used or written for now " +
      "(an S3 store down, slow or full, refusing the service's " +
      "credentials, or its bucket missing, a `DATA_DIR` that takes no " +
      "writes; nothing kept).",
  ),
  "501": problemResponse(
    "The body's `Transfer-Encoding` names a coding besides `chunked` " +
      "(`gzip, chunked`), which is not decoded (RFC 9112 6.1): send it " +
      "chunked only, a coding of the content in `Content-Encoding`; " +
      "nothing kept.",
  ),
  "507": problemResponse("Not enough disk space; nothing kept."),
  ...DEFAULT_ERROR,
};

/** An upload operation; `note` ends its description. */
export function uploadOperation(
  operationId: string,
  summary: string,
  note: string,
): OperationDescription {
  return {
    operationId,
    summary,
    description: "Streams the body to disk through the reader and writer " +
      "tasks around a bounded queue; the answer says whether the upload was " +
      "read-bound, write-bound or hash-bound. The file is kept only when complete (and, " +
      "with a digest header, verified). When the service runs with " +
      "`UPLOAD_TOKEN`, a bearer token is needed. The body is the file's " +
      "bytes (any media type but a form), or a `multipart/form-data` form " +
      "with exactly one file part, whose filename and type are kept; an " +
      "urlencoded form or another multipart type is 415. The body's " +
      "`Content-Length` (set by the HTTP client) is checked before the body " +
      "is read: over the upload limit 413, over the free disk space 507; " +
      "without it (chunked) the limit applies as the body arrives. A body " +
      "sent in `gzip` or `deflate` (`Content-Encoding`) is decoded as it " +
      "streams: the file is what it decodes to, and the limit counts the " +
      "decoded bytes. " + note,
    tags: ["files"],
    parameters: UPLOAD_PARAMETERS,
    requestBody: UPLOAD_BODY,
    responses: UPLOAD_RESPONSES,
    security: OPTIONAL_BEARER,
  };
}

// No Content-Length parameter: the HTTP client sets it from the body.
// Declared, generated clients and Swagger UI's curl would send a value of
// their own, and a wrong one hangs the upload until it times out.
const UPLOAD_PARAMETERS: ParameterObject[] = [
  textHeader(
    "Content-Digest",
    "RFC 9530 digest of the body, e.g. `sha-256=:<base64>:`; a " +
      "mismatch is 400 and nothing is kept. Empty, or naming only " +
      "other algorithms: ignored. A header field only: one announced " +
      "as a trailer (`Trailer: Content-Digest`) is 400 before the body " +
      "is read, as request trailers are dropped unread.",
  ),
  textHeader(
    "Repr-Digest",
    "Same as `Content-Digest` (used when that is absent).",
  ),
  {
    name: "Upload-Id",
    in: "header",
    description: "The id the file gets, chosen by the client so it can " +
      "follow its upload on `GET /uploads/events?id=` before sending " +
      "it: 32 lowercase hex characters, like the ids the server makes " +
      "(best: the time in ms as 12 hex digits, then 20 random ones, so " +
      "listings stay in creation order). Malformed: 400; an upload of " +
      "that id running or a file of that id stored: 409. Left out: the " +
      "server picks one.",
    schema: jsonSchemaOf(FileIdSchema),
  },
];
