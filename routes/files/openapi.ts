/**
 * The OpenAPI fragment of the file routes: uploads (`POST`/`PUT /files`,
 * `PUT /files/:id` with a name or an id, `POST /file`), the list,
 * downloads and deletes, with the components only they use (the
 * stored-file schemas, the download and auth headers, the bearer scheme).
 * The schemas come from `schemas.ts` and `services/storage/metadata.ts`.
 *
 * @module
 */

import type {
  ApiFragment,
  OperationDescription,
  PathParameterDescription,
} from "../../services/ops/openapi.ts";
import { jsonSchemaOf } from "../../services/ops/openapi.ts";
import {
  COMMON_HEADERS,
  DEFAULT_ERROR,
  headerRef,
  IF_NONE_MATCH,
  json,
  preconditionFailedResponse,
  problemResponse,
  queryParameters,
  responseRef,
  retryLater,
  schemaRef,
  UNCACHED_HEADERS,
} from "../../services/ops/openapi_parts.ts";
import {
  FileIdSchema,
  FileMetadataSchema,
} from "../../services/storage/metadata.ts";
import {
  FileListQuerySchema,
  FileListSchema,
  UploadResultSchema,
} from "./schemas.ts";
import { OPTIONAL_BEARER, uploadOperation } from "./upload_openapi.ts";

const FILE_ID: PathParameterDescription = {
  description: "A file id as made by the server: 32 lowercase hex characters.",
  schema: jsonSchemaOf(FileIdSchema),
};

const FILE_NAME_OR_ID: PathParameterDescription = {
  description: "The uploaded file's name (`big.bin`, `my%20file.bin`), or " +
    "the id it is created under (32 lowercase hex characters).",
  schema: { type: "string", minLength: 1 },
};

const string = { type: "string" } as const;

// Bytes as they are, in OpenAPI 3.1's form: an empty schema (3.0's
// `type: string, format: binary` describes a JSON string in 3.1, and a
// validating generated client, @hey-api/openapi-ts with zod, refused a Blob).
const binary = { schema: {} } as const;

// A file is served as the type its uploader declared, unless a browser
// would run it (see FILE_TYPE_NOTE).
const FILE_CONTENT = {
  "application/octet-stream": binary,
  "*/*": binary,
} as const;

const FILE_TYPE_NOTE = " Served as the type the upload declared (its " +
  "`Content-Type`, or its form part's; listed as `contentType`), with " +
  "`X-Content-Type-Options: nosniff`; a file declaring none, or a type a " +
  "browser would run (HTML, SVG and other XML, script, CSS, ...), as " +
  "`application/octet-stream`.";

const IF_MATCH = {
  name: "If-Match",
  in: "header",
  description: "412 unless the file has one of these `ETag`s (strong " +
    "comparison) or the value is `*`.",
  schema: string,
} as const;

const IF_UNMODIFIED_SINCE = {
  name: "If-Unmodified-Since",
  in: "header",
  description: "An HTTP-date: 412 when the file is newer. Ignored " +
    "with `If-Match` or when not a valid HTTP-date.",
  schema: string,
} as const;

const PUT_NAMED_UPLOAD = uploadOperation(
  "putNamedFile",
  "Upload a file under a name (PUT)",
  "What `curl -T big.bin http://host/files/` sends (curl appends the " +
    "local file's name to a URL ending in `/`): the last path segment is " +
    "the file's name, percent-decoded and kept as a form part's " +
    "`filename` is (its last `/` or `\\` segment without control, bidi " +
    "or zero-width characters, at most 255 bytes of UTF-8 with its " +
    "extension kept; dots alone or nothing printable: no name, the file " +
    "then downloads under its id). The file gets a new " +
    "id, which `Location` gives: `/files/{name}` itself stays no file (a " +
    "`GET` of it is 404). A segment that is a file id (32 lowercase hex " +
    "characters) is the id the file is created under, as `Upload-Id` gives " +
    "one (another `Upload-Id` with it is 400): a file of that id stored is " +
    "409, as the service replaces no file (`DELETE` it first), and " +
    "`If-Match`/`If-None-Match` are honoured (RFC 9110 13.1).",
);

// A PUT to an id: the upload, with the preconditions of a PUT.
const PUT_NAMED: OperationDescription = {
  ...PUT_NAMED_UPLOAD,
  pathParameters: { id: FILE_NAME_OR_ID },
  parameters: [
    ...(PUT_NAMED_UPLOAD.parameters ?? []),
    {
      name: "If-Match",
      in: "header",
      description: "With an id: 412 when no file of the id is stored (so " +
        "none is created) or it has none of these `ETag`s; when it holds, " +
        "409 all the same, as no file is replaced.",
      schema: string,
    },
    {
      name: "If-None-Match",
      in: "header",
      description: "With an id: `*` (create only) or a stored file's " +
        "`ETag` is 412 when that file is stored.",
      schema: string,
    },
  ],
  responses: {
    ...PUT_NAMED_UPLOAD.responses,
    "412": preconditionFailedResponse(
      "With an id: `If-Match` or `If-None-Match` does not hold; nothing kept.",
    ),
  },
};

/** The file routes' part of the OpenAPI document. */
export const filesDocs: ApiFragment = {
  tags: [{ name: "files", description: "Streaming uploads and downloads." }],
  operations: {
    "POST /files": uploadOperation("uploadFile", "Upload a file", ""),
    "PUT /files": uploadOperation(
      "putFile",
      "Upload a file (PUT)",
      "Same as `POST /files`; `curl -T` sends PUT. `/files/` is this " +
        "operation too, not a redirect (`curl -T - http://host/files/` from " +
        "a pipe could not send its body again); `/files/{name}` names the file.",
    ),
    "PUT /files/:id": PUT_NAMED,
    "POST /file": uploadOperation(
      "uploadFileAlias",
      "Upload a file (alias)",
      "Same as `POST /files`.",
    ),
    "GET /files": {
      operationId: "listFiles",
      summary: "List stored files",
      description: "Sorted by `created`, then `id`, a page at a time. " +
        "For a while after a start over many files (the index being " +
        "built; `/readyz` answers 503 meanwhile) 503 with `Retry-After`.",
      tags: ["files"],
      parameters: queryParameters(FileListQuerySchema),
      responses: {
        "200": {
          description: "One page of files.",
          headers: {
            "Link": headerRef("Link"),
            "Cache-Control": headerRef("CacheControl"),
            ...COMMON_HEADERS,
          },
          content: json(schemaRef("FileList")),
        },
        "400": problemResponse("A bad `limit` or `cursor`."),
        "503": responseRef("StorageUnavailable"),
        ...DEFAULT_ERROR,
      },
    },
    "GET /files/:id": {
      operationId: "downloadFile",
      summary: "Download a file",
      description: "Streams the file; a single `Range` gives 206. " +
        "Conditional requests follow RFC 9110: `If-None-Match` and " +
        "`If-Modified-Since` give 304, `If-Match` and `If-Unmodified-Since` " +
        "412, and `If-Range` takes the `ETag` or the `Last-Modified` date.",
      tags: ["files"],
      pathParameters: { id: FILE_ID },
      parameters: [
        {
          name: "Range",
          in: "header",
          description: "One byte range, e.g. `bytes=0-99` or `bytes=-100`. " +
            "A list is read by RFC 9110's list rule (`bytes=0-1,` is " +
            "`0-1`); ranges past the end are dropped, ranges that overlap " +
            "or touch are served as one; ranges apart or other units get " +
            "the whole file (200), none satisfiable 416.",
          schema: { type: "string" },
        },
        {
          name: "If-Range",
          in: "header",
          description: "Apply `Range` only if the file still has this " +
            "`ETag` (strong comparison) or exactly this `Last-Modified` " +
            "date; otherwise the whole file is sent (200).",
          schema: { type: "string" },
        },
        IF_NONE_MATCH,
        {
          name: "If-Modified-Since",
          in: "header",
          description: "An HTTP-date, e.g. an earlier `Last-Modified`: 304 " +
            "when the file is not newer. Ignored with `If-None-Match` or when " +
            "not a valid HTTP-date.",
          schema: { type: "string" },
        },
        IF_MATCH,
        IF_UNMODIFIED_SINCE,
      ],
      responses: {
        "200": {
          description: "The whole file." + FILE_TYPE_NOTE,
          headers: {
            "Content-Disposition": headerRef("ContentDisposition"),
            "ETag": headerRef("ETag"),
            "Repr-Digest": headerRef("ReprDigest"),
            "Cache-Control": headerRef("CacheControl"),
            "Accept-Ranges": headerRef("AcceptRanges"),
            "Last-Modified": headerRef("LastModified"),
            ...COMMON_HEADERS,
          },
          content: FILE_CONTENT,
        },
        "206": {
          description: "The requested range." + FILE_TYPE_NOTE,
          headers: {
            "Content-Disposition": headerRef("ContentDisposition"),
            "Content-Range": headerRef("ContentRange"),
            "Accept-Ranges": headerRef("AcceptRanges"),
            "ETag": headerRef("ETag"),
            "Repr-Digest": headerRef("ReprDigest"),
            "Cache-Control": headerRef("CacheControl"),
            "Last-Modified": headerRef("LastModified"),
            ...COMMON_HEADERS,
          },
          content: FILE_CONTENT,
        },
        "304": {
          description: "Not modified: the file still has the given `ETag`, " +
            "or is not newer than `If-Modified-Since`.",
          headers: {
            "ETag": headerRef("ETag"),
            "Last-Modified": headerRef("LastModified"),
            "Cache-Control": headerRef("CacheControl"),
            ...COMMON_HEADERS,
          },
        },
        "404": problemResponse("No such file."),
        "412": preconditionFailedResponse(
          "`If-Match` or `If-Unmodified-Since` does not hold.",
        ),
        "416": {
          ...problemResponse("The range is outside the file."),
          headers: {
            "Content-Range": headerRef("ContentRange"),
            ...UNCACHED_HEADERS,
          },
        },
        "503": responseRef("StorageUnavailable"),
        ...DEFAULT_ERROR,
      },
    },
    "DELETE /files/:id": {
      operationId: "deleteFile",
      summary: "Delete a file",
      description: "Removes the file and its metadata. When the service " +
        "runs with `UPLOAD_TOKEN`, a bearer token is needed. `If-Match`, " +
        "`If-Unmodified-Since` and `If-None-Match` are honoured (RFC 9110 " +
        "13.1): a false one is 412 and the file stays. They are checked " +
        "against the version deleted (on the local disk one step; on an " +
        "S3 store that ignores conditional deletes, such as Ceph radosgw " +
        "16, a change between the check and the delete is not seen).",
      tags: ["files"],
      pathParameters: { id: FILE_ID },
      parameters: [
        IF_MATCH,
        IF_UNMODIFIED_SINCE,
        {
          name: "If-None-Match",
          in: "header",
          description: "412 when the file has one of these `ETag`s (weak " +
            "comparison) or the value is `*`.",
          schema: string,
        },
      ],
      responses: {
        "204": { description: "Deleted.", headers: COMMON_HEADERS },
        "401": responseRef("Unauthorized"),
        "404": problemResponse("No such file."),
        "412": preconditionFailedResponse(
          "`If-Match`, `If-Unmodified-Since` or `If-None-Match` does not " +
            "hold: the file stays.",
        ),
        "503": responseRef("StorageUnavailable"),
        ...DEFAULT_ERROR,
      },
      security: OPTIONAL_BEARER,
    },
  },
  schemas: {
    FileMetadata: FileMetadataSchema,
    FileList: FileListSchema,
    UploadResult: UploadResultSchema,
  },
  headers: {
    ContentDisposition: {
      description: "`attachment` with the file's stored name (RFC 6266); " +
        "absent when it has none. A name that is not plain ASCII goes " +
        "whole in `filename*` and as its nearest ASCII in `filename`, for " +
        "clients that read only that (`curl -OJ`): accents dropped " +
        "(`naïve résumé.txt` is `naive resume.txt`), `_` for a character " +
        "with no ASCII form, a `/` or `\\` (`..／x` decomposes to `../x`) " +
        "or a name of dots, `'` for `\"`.",
      schema: string,
    },
    ReprDigest: {
      description: "RFC 9530 `sha-256=:<base64>:` of the whole file.",
      schema: string,
    },
    Location: { description: "The new file's URL.", schema: string },
    ContentRange: {
      description:
        "`bytes <start>-<end>/<size>` (206) or `bytes */<size>` (416).",
      schema: string,
    },
    WWWAuthenticate: { description: "The Bearer challenge.", schema: string },
    Link: { description: 'The next page, `rel="next"`.', schema: string },
    AcceptRanges: { description: "`bytes`.", schema: string },
    UploadAcceptPost: {
      description: "`application/octet-stream, multipart/form-data`: a " +
        "raw body of any type but a form, or a form.",
      schema: string,
    },
    LastModified: {
      description: "When the file was stored, as an HTTP-date (to the " +
        "second); send it back as `If-Modified-Since` or `If-Range`. Sent " +
        "from the second after that date on (a strong validator, RFC 9110 " +
        "8.8.2.2): a file replaced within that second shares the date " +
        "with the file after it.",
      schema: string,
    },
  },
  responses: {
    StorageUnavailable: retryLater(
      "The file storage cannot be reached or used for now (an S3 store " +
        "down, slow or full, refusing the service's credentials, or its " +
        "bucket missing, a " +
        "`DATA_DIR/files` that is no folder and " +
        "cannot be made one, or cannot be read); nothing changed.",
    ),
    Unauthorized: {
      ...problemResponse(
        "`UPLOAD_TOKEN` is set and the bearer token is missing or wrong.",
      ),
      headers: {
        "WWW-Authenticate": headerRef("WWWAuthenticate"),
        ...UNCACHED_HEADERS,
      },
    },
  },
  securitySchemes: {
    bearer: {
      type: "http",
      scheme: "bearer",
      description: "`UPLOAD_TOKEN`, when the service runs with one.",
    },
  },
};
