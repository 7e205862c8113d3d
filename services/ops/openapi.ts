/**
 * The OpenAPI 3.1 description of the service, derived from the route table.
 *
 * {@linkcode openApiDocument} walks the routes (method + URLPattern pathname)
 * and looks each one up in a table of operation descriptions keyed by
 * `"METHOD /pattern"` ({@linkcode OPERATIONS}). The two must agree: a route
 * without a description, a description without a route (other than those in
 * {@linkcode OPTIONAL_OPERATIONS}), or a path parameter the pattern and the
 * description disagree on makes it throw, so a test catches any drift.
 *
 * `HEAD` is implied by `GET` everywhere (the router serves it), so it is not
 * listed as an operation of its own.
 *
 * @example Usage
 * ```ts ignore
 * const doc = openApiDocument(app.router.routes);
 * console.log(Object.keys(doc.paths)); // ["/", "/healthz", ..., "/posts/{id}", ...]
 * ```
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };

/** A JSON Schema (2020-12, the OpenAPI 3.1 dialect). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A `$ref` to another part of the document. */
export interface Reference {
  /** A JSON pointer into the document, e.g. `#/components/schemas/Post`. */
  readonly $ref: string;
}

/** An OpenAPI parameter (query or header; path parameters are derived). */
export interface ParameterObject {
  /** The parameter's name. */
  readonly name: string;
  /** Where it goes. */
  readonly in: "query" | "header" | "path";
  /** What it does. */
  readonly description?: string;
  /** Whether it must be given. */
  readonly required?: boolean;
  /** Its schema. */
  readonly schema: JsonSchema;
  /** An example value. */
  readonly example?: unknown;
}

/** How a path parameter of a pattern is described. */
export interface PathParameterDescription {
  /** What it names. */
  readonly description: string;
  /** Its schema. */
  readonly schema: JsonSchema;
  /** An example value. */
  readonly example?: unknown;
}

/** A response header. */
export interface HeaderObject {
  /** What it carries. */
  readonly description: string;
  /** Its schema. */
  readonly schema: JsonSchema;
}

/** A media type entry of a body. */
export interface MediaTypeObject {
  /** The body's schema. */
  readonly schema: JsonSchema;
}

/** An OpenAPI response. */
export interface ResponseObject {
  /** What the response means. */
  readonly description: string;
  /** Response headers by name. */
  readonly headers?: Readonly<Record<string, HeaderObject | Reference>>;
  /** Bodies by media type. */
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
}

/** An OpenAPI request body. */
export interface RequestBodyObject {
  /** What the body is. */
  readonly description: string;
  /** Whether a body is needed. */
  readonly required: boolean;
  /** Bodies by media type. */
  readonly content: Readonly<Record<string, MediaTypeObject>>;
}

/** The metadata of one operation, keyed by `"METHOD /pattern"`. */
export interface OperationDescription {
  /** Unique across the document. */
  readonly operationId: string;
  /** One line. */
  readonly summary: string;
  /** Longer Markdown text. */
  readonly description?: string;
  /** Groups in the docs UI. */
  readonly tags: readonly string[];
  /** One entry per `:name` of the pattern, no more and no fewer. */
  readonly pathParameters?: Readonly<Record<string, PathParameterDescription>>;
  /** Query and header parameters. */
  readonly parameters?: readonly ParameterObject[];
  /** The request body, if any. */
  readonly requestBody?: RequestBodyObject;
  /** Responses by status code (or `default`). */
  readonly responses: Readonly<Record<string, ResponseObject | Reference>>;
  /** Security requirements; `{}` in the list makes auth optional. */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

/** An operation as it appears in the document. */
export interface OperationObject {
  /** Unique across the document. */
  operationId: string;
  /** One line. */
  summary: string;
  /** Longer Markdown text. */
  description?: string;
  /** Groups in the docs UI. */
  tags: string[];
  /** Path, query and header parameters. */
  parameters: ParameterObject[];
  /** The request body, if any. */
  requestBody?: RequestBodyObject;
  /** Responses by status code (or `default`). */
  responses: Record<string, ResponseObject | Reference>;
  /** Security requirements. */
  security?: Record<string, string[]>[];
}

/** The OpenAPI 3.1 document. */
export interface OpenApiDocument {
  /** The OpenAPI version. */
  openapi: "3.1.0";
  /** Title, version and description. */
  info: { title: string; version: string; description: string };
  /** Where the API is: the same origin. */
  servers: { url: string; description?: string }[];
  /** Tag descriptions, in display order. */
  tags: { name: string; description: string }[];
  /**
   * Security of every operation that does not say otherwise: none (`[]`);
   * the upload and delete operations declare their optional bearer.
   */
  security: Record<string, string[]>[];
  /** Operations by OpenAPI path template, then lower-case method. */
  paths: Record<string, Record<string, OperationObject>>;
  /** Shared schemas, responses, headers and security schemes. */
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, ResponseObject>;
    headers: Record<string, HeaderObject>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

/** The part of a route the document needs (a `Route` of the router fits). */
export interface RouteShape {
  /** An HTTP method. */
  readonly method: string;
  /** A URLPattern pathname, e.g. `/posts/:id`. */
  readonly pattern: string;
}

/** Options of {@linkcode openApiDocument}. */
export interface OpenApiOptions {
  /** The operation descriptions. @default {OPERATIONS} */
  operations?: Readonly<Record<string, OperationDescription>>;
  /**
   * Description keys allowed to have no route (routes that only exist in
   * some builds). @default {OPTIONAL_OPERATIONS}
   */
  optional?: ReadonlySet<string>;
  /** `info.title`. @default {"async-api"} */
  title?: string;
  /** `info.version`. @default {the version in deno.json} */
  version?: string;
}

// --- Building blocks --------------------------------------------------------

const ref = (kind: string, name: string): Reference => ({
  $ref: `#/components/${kind}/${name}`,
});
const schemaRef = (name: string): JsonSchema => ({ ...ref("schemas", name) });
const headerRef = (name: string): Reference => ref("headers", name);
const responseRef = (name: string): Reference => ref("responses", name);

const JSON_TYPE = "application/json";
const PROBLEM_TYPE = "application/problem+json";

const json = (schema: JsonSchema): Record<string, MediaTypeObject> => ({
  [JSON_TYPE]: { schema },
});

/** Headers of every answer to a cached JSONPlaceholder read. */
const CACHE_HEADERS = {
  "Cache-Control": headerRef("CacheControl"),
  "Age": headerRef("Age"),
  "Cache-Status": headerRef("CacheStatus"),
  "Server-Timing": headerRef("ServerTiming"),
  "X-Request-Id": headerRef("XRequestId"),
} as const;

const REQUEST_ID_HEADER = { "X-Request-Id": headerRef("XRequestId") } as const;

const POSITIVE_ID: PathParameterDescription = {
  description: "A positive integer id (anything else is 400).",
  schema: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  example: 1,
};

const FILE_ID: PathParameterDescription = {
  description: "A file id as made by the server: 32 lowercase hex characters.",
  schema: { type: "string", pattern: "^[0-9a-f]{32}$" },
};

const IF_NONE_MATCH: ParameterObject = {
  name: "If-None-Match",
  in: "header",
  description: "An `ETag` from an earlier answer: 304 when it still matches.",
  schema: { type: "string" },
};

const UPSTREAM_ERRORS = {
  "502": responseRef("BadGateway"),
  "503": responseRef("UpstreamBusy"),
  "504": responseRef("GatewayTimeout"),
} as const;

const DEFAULT_ERROR = { default: responseRef("Error") } as const;

const notModified = (what: string): ResponseObject => ({
  description: `Not modified: the ${what} still has the given \`ETag\`.`,
  headers: { "ETag": headerRef("ETag"), ...CACHE_HEADERS },
});

/** A JSONPlaceholder resource: its schema and the fields worth filtering on. */
interface ResourceInfo {
  readonly schema: string;
  readonly noun: string;
  readonly filters: Readonly<Record<string, JsonSchema>>;
}

const RESOURCE_INFO: Readonly<Record<string, ResourceInfo>> = {
  posts: {
    schema: "Post",
    noun: "post",
    filters: { userId: { type: "integer" } },
  },
  comments: {
    schema: "Comment",
    noun: "comment",
    filters: { postId: { type: "integer" }, email: { type: "string" } },
  },
  albums: {
    schema: "Album",
    noun: "album",
    filters: { userId: { type: "integer" } },
  },
  photos: {
    schema: "Photo",
    noun: "photo",
    filters: { albumId: { type: "integer" } },
  },
  todos: {
    schema: "Todo",
    noun: "todo",
    filters: { userId: { type: "integer" }, completed: { type: "boolean" } },
  },
  users: {
    schema: "User",
    noun: "user",
    filters: { username: { type: "string" }, email: { type: "string" } },
  },
};

/** `/<parent>/:id/<child>` collections. */
const NESTED_INFO: readonly (readonly [string, string, string])[] = [
  ["posts", "comments", "listPostComments"],
  ["albums", "photos", "listAlbumPhotos"],
  ["users", "posts", "listUserPosts"],
  ["users", "todos", "listUserTodos"],
  ["users", "albums", "listUserAlbums"],
];

const FILTER_NOTE = "Any field of the resource filters by equality " +
  "(`?title=...`, repeat a name for OR), with the suffixes `_gte`, `_lte`, " +
  "`_ne` and `_like` (a regular expression) for other comparisons. " +
  "`q` searches every field; `_sort`/`_order`, `_start`/`_end`, `_limit` " +
  "and `_page` sort and page. A declared parameter outside its schema is " +
  "400; otherwise the query is passed to the upstream as is (cached under " +
  "the query sorted by name).";

const CONTROL_PARAMETERS: readonly ParameterObject[] = [
  {
    name: "q",
    in: "query",
    description: "Full-text search over every field.",
    schema: { type: "string" },
  },
  {
    name: "_sort",
    in: "query",
    description: "Sort by this field.",
    schema: { type: "string" },
  },
  {
    name: "_order",
    in: "query",
    description: "Sort order.",
    schema: { type: "string", enum: ["asc", "desc"] },
  },
  {
    name: "_start",
    in: "query",
    description: "Index of the first item (with `_end` or `_limit`).",
    schema: { type: "integer", minimum: 0 },
  },
  {
    name: "_end",
    in: "query",
    description: "Index after the last item.",
    schema: { type: "integer", minimum: 0 },
  },
  {
    name: "_limit",
    in: "query",
    description: "Most items to return.",
    schema: { type: "integer", minimum: 0 },
  },
  {
    name: "_page",
    in: "query",
    description: "Page number (pages of `_limit` items, 10 by default).",
    schema: { type: "integer", minimum: 1 },
  },
];

function listOf(schema: string): JsonSchema {
  return { type: "array", items: schemaRef(schema) };
}

function cachedOk(description: string, schema: JsonSchema): ResponseObject {
  return {
    description,
    headers: { "ETag": headerRef("ETag"), ...CACHE_HEADERS },
    content: json(schema),
  };
}

function jsonPlaceholderOperations(): Record<string, OperationDescription> {
  const operations: Record<string, OperationDescription> = {};
  const capital = (s: string) => s[0]!.toUpperCase() + s.slice(1);
  for (const [resource, info] of Object.entries(RESOURCE_INFO)) {
    const filters: ParameterObject[] = Object.entries(info.filters).map((
      [name, schema],
    ) => ({
      name,
      in: "query",
      description: `Only ${resource} whose \`${name}\` equals this.`,
      schema,
    }));
    operations[`GET /${resource}`] = {
      operationId: `list${capital(resource)}`,
      summary: `List ${resource}`,
      description: `All ${resource}, through the cache. ${FILTER_NOTE}`,
      tags: [resource],
      parameters: [...filters, ...CONTROL_PARAMETERS, IF_NONE_MATCH],
      responses: {
        "200": cachedOk(`The ${resource}.`, listOf(info.schema)),
        "304": notModified("list"),
        "400": responseRef("InvalidQuery"),
        ...UPSTREAM_ERRORS,
        ...DEFAULT_ERROR,
      },
    };
    operations[`GET /${resource}/:id`] = {
      operationId: `get${capital(info.noun)}`,
      summary: `Get a ${info.noun}`,
      description: `One ${info.noun}, through the cache (a 404 is cached too).`,
      tags: [resource],
      pathParameters: { id: POSITIVE_ID },
      parameters: [IF_NONE_MATCH],
      responses: {
        "200": cachedOk(`The ${info.noun}.`, schemaRef(info.schema)),
        "304": notModified(info.noun),
        "400": responseRef("InvalidId"),
        "404": {
          description: `No ${info.noun} with this id.`,
          headers: CACHE_HEADERS,
          content: { [PROBLEM_TYPE]: { schema: schemaRef("Problem") } },
        },
        ...UPSTREAM_ERRORS,
        ...DEFAULT_ERROR,
      },
    };
  }
  for (const [parent, child, operationId] of NESTED_INFO) {
    const parentInfo = RESOURCE_INFO[parent]!;
    const childInfo = RESOURCE_INFO[child]!;
    operations[`GET /${parent}/:id/${child}`] = {
      operationId,
      summary: `List the ${child} of a ${parentInfo.noun}`,
      description: `The ${child} whose \`${parentInfo.noun}Id\` is \`id\` ` +
        `(an empty list for an unknown ${parentInfo.noun}), through the ` +
        `cache. ${FILTER_NOTE}`,
      tags: [parent],
      pathParameters: { id: POSITIVE_ID },
      parameters: [...CONTROL_PARAMETERS, IF_NONE_MATCH],
      responses: {
        "200": cachedOk(`The ${child}.`, listOf(childInfo.schema)),
        "304": notModified("list"),
        "400": problemResponse(
          "The id is not a positive integer, or a query parameter is " +
            "outside its declared schema.",
        ),
        ...UPSTREAM_ERRORS,
        ...DEFAULT_ERROR,
      },
    };
  }
  return operations;
}

function uploadOperation(
  operationId: string,
  summary: string,
  note: string,
): OperationDescription {
  return {
    operationId,
    summary,
    description: "Streams the body to disk through the reader and writer " +
      "tasks around a bounded queue; the answer says whether the upload was " +
      "read-bound or write-bound. The file is kept only when complete (and, " +
      "with a digest header, verified). When the service runs with " +
      "`UPLOAD_TOKEN`, a bearer token is needed. The body is the file's " +
      "bytes (any media type but a form), or a `multipart/form-data` form " +
      "with exactly one file part, whose filename and type are kept; an " +
      "urlencoded form or another multipart type is 415. The body's " +
      "`Content-Length` (set by the HTTP client) is checked before the body " +
      "is read: over the upload limit 413, over the free disk space 507; " +
      "without it (chunked) the limit applies as the body arrives. " + note,
    tags: ["files"],
    // No Content-Length parameter: the HTTP client sets it from the body.
    // Declared, generated clients and Swagger UI's curl would send a value
    // of their own, and a wrong one hangs the upload until it times out.
    parameters: [
      {
        name: "Content-Digest",
        in: "header",
        description: "RFC 9530 digest of the body, e.g. " +
          "`sha-256=:<base64>:`; a mismatch is 400 and nothing is kept. " +
          "Empty, or naming only other algorithms: ignored.",
        schema: { type: "string" },
      },
      {
        name: "Repr-Digest",
        in: "header",
        description: "Same as `Content-Digest` (used when that is absent).",
        schema: { type: "string" },
      },
    ],
    requestBody: {
      description: "The file's bytes, or a form with the file as its one " +
        "file part.",
      required: true,
      content: {
        "application/octet-stream": {
          schema: { type: "string", format: "binary" },
        },
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["file"],
            properties: {
              file: {
                type: "string",
                format: "binary",
                description: "The one file part (any field name); other " +
                  "fields are ignored. A `Content-Digest` covers the whole " +
                  "form.",
              },
            },
          },
        },
      },
    },
    responses: {
      "201": {
        description: "Stored.",
        headers: {
          "Location": headerRef("Location"),
          "Repr-Digest": headerRef("ReprDigest"),
          "ETag": headerRef("ETag"),
          "Server-Timing": headerRef("ServerTiming"),
          ...REQUEST_ID_HEADER,
        },
        content: json(schemaRef("UploadResult")),
      },
      "400": problemResponse(
        "A malformed `Content-Length` or digest header, a digest mismatch, " +
          "a body that ended early, or a form without exactly one file " +
          "part or cut off (nothing kept).",
      ),
      "401": responseRef("Unauthorized"),
      "408": problemResponse(
        "No data arrived for `UPLOAD_IDLE_TIMEOUT_MS`, or the body averaged " +
          "less than `UPLOAD_MIN_BYTES_PER_SECOND` once past " +
          "`UPLOAD_RATE_WINDOW_MS` (nothing kept).",
      ),
      "413": problemResponse("The upload is larger than `MAX_UPLOAD_BYTES`."),
      "415": problemResponse(
        "An urlencoded form or a multipart type other than form-data " +
          "(`Accept-Post` lists what is taken).",
      ),
      "429": {
        ...problemResponse(
          "This client address already runs `MAX_UPLOADS_PER_CLIENT` uploads.",
        ),
        headers: {
          "Retry-After": headerRef("RetryAfter"),
          ...REQUEST_ID_HEADER,
        },
      },
      "503": {
        ...problemResponse(
          "`MAX_CONCURRENT_UPLOADS` uploads are running, or the service is " +
            "shutting down (an upload still running when " +
            "`SHUTDOWN_GRACE_MS` ran out is stopped with this answer and " +
            "`Connection: close`; nothing kept).",
        ),
        headers: {
          "Retry-After": headerRef("RetryAfter"),
          ...REQUEST_ID_HEADER,
        },
      },
      "507": problemResponse("Not enough disk space; nothing kept."),
      ...DEFAULT_ERROR,
    },
    security: OPTIONAL_BEARER,
  };
}

function problemResponse(description: string): ResponseObject {
  return {
    description,
    headers: REQUEST_ID_HEADER,
    content: { [PROBLEM_TYPE]: { schema: schemaRef("Problem") } },
  };
}

const OPTIONAL_BEARER = [{}, { bearer: [] }] as const;

function asset(
  operationId: string,
  summary: string,
  mediaType: string,
): OperationDescription {
  return {
    operationId,
    summary,
    description: "An asset of the docs page (Swagger UI), served by this " +
      "service so the page needs no other origin.",
    tags: ["docs"],
    responses: {
      "200": {
        description: "The asset (cached for a day).",
        headers: {
          "Cache-Control": headerRef("CacheControl"),
          ...REQUEST_ID_HEADER,
        },
        content: { [mediaType]: { schema: { type: "string" } } },
      },
      ...DEFAULT_ERROR,
    },
  };
}

/**
 * The description of every operation of the service, keyed by
 * `"METHOD /pattern"` exactly as in the route table.
 */
export const OPERATIONS: Readonly<Record<string, OperationDescription>> = {
  "GET /": {
    operationId: "getRoot",
    summary: "Greeting",
    description: 'Answers `{"Hello":"World"}`; touches nothing else.',
    tags: ["health"],
    responses: {
      "200": {
        description: "A greeting.",
        headers: REQUEST_ID_HEADER,
        content: json({
          type: "object",
          required: ["Hello"],
          properties: { Hello: { type: "string", const: "World" } },
        }),
      },
      ...DEFAULT_ERROR,
    },
  },
  "GET /healthz": {
    operationId: "getHealthz",
    summary: "Liveness probe",
    description: "Answers 200 as long as the process serves requests.",
    tags: ["health"],
    responses: {
      "200": {
        description: "The process is alive.",
        headers: REQUEST_ID_HEADER,
        content: json(schemaRef("Status")),
      },
      ...DEFAULT_ERROR,
    },
  },
  "GET /readyz": {
    operationId: "getReadyz",
    summary: "Readiness probe",
    description: "503 once a shutdown began, so load balancers move away.",
    tags: ["health"],
    responses: {
      "200": {
        description: "The service takes work.",
        headers: REQUEST_ID_HEADER,
        content: json(schemaRef("Status")),
      },
      "503": {
        ...problemResponse("The service is shutting down."),
        headers: {
          "Retry-After": headerRef("RetryAfter"),
          ...REQUEST_ID_HEADER,
        },
      },
      ...DEFAULT_ERROR,
    },
  },
  ...jsonPlaceholderOperations(),
  "GET /users/:id/summary": {
    operationId: "getUserSummary",
    summary: "A user with their posts, todos and albums",
    description: "Four cached lookups at once. 404 when the user does not " +
      "exist. When another part fails the answer is still 200, with that " +
      "part `null`, an `errors` entry naming it, and " +
      "`Cache-Control: no-store`.",
    tags: ["users"],
    pathParameters: { id: POSITIVE_ID },
    parameters: [IF_NONE_MATCH],
    responses: {
      "200": {
        description: "The summary (possibly partial, see `errors`).",
        headers: {
          "ETag": headerRef("ETag"),
          "Cache-Control": headerRef("CacheControl"),
          "Age": headerRef("Age"),
          "Server-Timing": headerRef("ServerTiming"),
          ...REQUEST_ID_HEADER,
        },
        content: json(schemaRef("UserSummary")),
      },
      "304": {
        description: "Not modified: the summary still has the given `ETag`.",
        headers: {
          "ETag": headerRef("ETag"),
          "Cache-Control": headerRef("CacheControl"),
          "Age": headerRef("Age"),
        },
      },
      "400": responseRef("InvalidId"),
      "404": problemResponse("No user with this id."),
      ...UPSTREAM_ERRORS,
      ...DEFAULT_ERROR,
    },
  },
  "POST /files": uploadOperation("uploadFile", "Upload a file", ""),
  "PUT /files": uploadOperation(
    "putFile",
    "Upload a file (PUT)",
    "Same as `POST /files`; `curl -T` sends PUT.",
  ),
  "POST /file": uploadOperation(
    "uploadFileAlias",
    "Upload a file (alias)",
    "Same as `POST /files`.",
  ),
  "GET /files": {
    operationId: "listFiles",
    summary: "List stored files",
    description: "Sorted by `created`, then `id`, a page at a time.",
    tags: ["files"],
    parameters: [
      {
        name: "limit",
        in: "query",
        description: "Most files in one page.",
        schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
      },
      {
        name: "cursor",
        in: "query",
        description: "The `nextCursor` of the previous page; empty or " +
          "left out: the first page.",
        schema: { type: "string" },
      },
    ],
    responses: {
      "200": {
        description: "One page of files.",
        headers: {
          "Link": headerRef("Link"),
          "Cache-Control": headerRef("CacheControl"),
          ...REQUEST_ID_HEADER,
        },
        content: json(schemaRef("FileList")),
      },
      "400": problemResponse("A bad `limit` or `cursor`."),
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
        description: "One byte range, e.g. `bytes=0-99` or `bytes=-100`; " +
          "several ranges or other units get the whole file.",
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
      {
        name: "If-Match",
        in: "header",
        description: "412 unless the file has one of these `ETag`s (strong " +
          "comparison) or the value is `*`.",
        schema: { type: "string" },
      },
      {
        name: "If-Unmodified-Since",
        in: "header",
        description: "An HTTP-date: 412 when the file is newer. Ignored " +
          "with `If-Match` or when not a valid HTTP-date.",
        schema: { type: "string" },
      },
    ],
    responses: {
      "200": {
        description: "The whole file.",
        headers: {
          "Content-Disposition": headerRef("ContentDisposition"),
          "ETag": headerRef("ETag"),
          "Repr-Digest": headerRef("ReprDigest"),
          "Cache-Control": headerRef("CacheControl"),
          "Accept-Ranges": headerRef("AcceptRanges"),
          "Last-Modified": headerRef("LastModified"),
          ...REQUEST_ID_HEADER,
        },
        content: {
          "application/octet-stream": {
            schema: { type: "string", format: "binary" },
          },
        },
      },
      "206": {
        description: "The requested range.",
        headers: {
          "Content-Disposition": headerRef("ContentDisposition"),
          "Content-Range": headerRef("ContentRange"),
          "ETag": headerRef("ETag"),
          "Repr-Digest": headerRef("ReprDigest"),
          "Cache-Control": headerRef("CacheControl"),
          "Last-Modified": headerRef("LastModified"),
          ...REQUEST_ID_HEADER,
        },
        content: {
          "application/octet-stream": {
            schema: { type: "string", format: "binary" },
          },
        },
      },
      "304": {
        description: "Not modified: the file still has the given `ETag`, " +
          "or is not newer than `If-Modified-Since`.",
        headers: {
          "ETag": headerRef("ETag"),
          "Last-Modified": headerRef("LastModified"),
          "Cache-Control": headerRef("CacheControl"),
          ...REQUEST_ID_HEADER,
        },
      },
      "404": problemResponse("No such file."),
      "412": problemResponse(
        "`If-Match` or `If-Unmodified-Since` does not hold.",
      ),
      "416": {
        ...problemResponse("The range is outside the file."),
        headers: {
          "Content-Range": headerRef("ContentRange"),
          ...REQUEST_ID_HEADER,
        },
      },
      ...DEFAULT_ERROR,
    },
  },
  "DELETE /files/:id": {
    operationId: "deleteFile",
    summary: "Delete a file",
    description: "Removes the file and its metadata. When the service " +
      "runs with `UPLOAD_TOKEN`, a bearer token is needed.",
    tags: ["files"],
    pathParameters: { id: FILE_ID },
    responses: {
      "204": { description: "Deleted.", headers: REQUEST_ID_HEADER },
      "401": responseRef("Unauthorized"),
      "404": problemResponse("No such file."),
      ...DEFAULT_ERROR,
    },
    security: OPTIONAL_BEARER,
  },
  "GET /openapi.json": {
    operationId: "getOpenApi",
    summary: "This OpenAPI document",
    description: "Built from the route table: every route has one " +
      "operation and every operation a route. The query constraints it " +
      "declares are the ones the server enforces.",
    tags: ["docs"],
    parameters: [IF_NONE_MATCH],
    responses: {
      "200": {
        description: "The OpenAPI 3.1 document.",
        headers: {
          "ETag": headerRef("ETag"),
          "Cache-Control": headerRef("CacheControl"),
          ...REQUEST_ID_HEADER,
        },
        content: json({ type: "object" }),
      },
      "304": {
        description: "Not modified.",
        headers: { "ETag": headerRef("ETag"), ...REQUEST_ID_HEADER },
      },
      ...DEFAULT_ERROR,
    },
  },
  "GET /docs": {
    operationId: "getDocs",
    summary: "Interactive API docs (Swagger UI)",
    description: "Served entirely by this service; the page makes no " +
      "request to any other origin.",
    tags: ["docs"],
    responses: {
      "200": {
        description: "The HTML page.",
        headers: REQUEST_ID_HEADER,
        content: { "text/html": { schema: { type: "string" } } },
      },
      ...DEFAULT_ERROR,
    },
  },
  "GET /docs/swagger-ui.css": asset(
    "getSwaggerUiCss",
    "Swagger UI stylesheet",
    "text/css",
  ),
  "GET /docs/swagger-ui-bundle.js": asset(
    "getSwaggerUiBundle",
    "Swagger UI script",
    "text/javascript",
  ),
  "GET /docs/swagger-initializer.js": asset(
    "getSwaggerInitializer",
    "Script that starts Swagger UI on /openapi.json",
    "text/javascript",
  ),
  "GET /metrics": {
    operationId: "getMetrics",
    summary: "Prometheus metrics",
    description: "Requests, cache lookups, upstream attempts, uploads and " +
      "process figures, in the Prometheus text format; never cached.",
    tags: ["metrics"],
    responses: {
      "200": {
        description: "Metrics in the Prometheus text format.",
        headers: REQUEST_ID_HEADER,
        content: { "text/plain": { schema: { type: "string" } } },
      },
      ...DEFAULT_ERROR,
    },
  },
};

/**
 * Description keys that may have no route: the document includes them only
 * when the route exists. Every other key of {@linkcode OPERATIONS} must match
 * a route.
 */
export const OPTIONAL_OPERATIONS: ReadonlySet<string> = new Set([
  "GET /metrics",
]);

// --- Components -------------------------------------------------------------

const integer = { type: "integer" } as const;
const string = { type: "string" } as const;
const ms = (description: string) => ({
  type: "number",
  minimum: 0,
  description,
});

function object(
  properties: Record<string, JsonSchema>,
  required: readonly string[] = Object.keys(properties),
): JsonSchema {
  return {
    type: "object",
    required: [...required],
    properties,
    additionalProperties: false,
  };
}

/** {@linkcode object} with every property required but `optional`. */
function withOptional(
  properties: Record<string, JsonSchema>,
  optional: readonly string[],
): JsonSchema {
  return object(
    properties,
    Object.keys(properties).filter((key) => !optional.includes(key)),
  );
}

const FILE_METADATA_PROPERTIES = {
  id: { type: "string", pattern: "^[0-9a-f]{32}$" },
  size: { type: "integer", minimum: 0, description: "Bytes." },
  sha256: {
    type: "string",
    pattern: "^[0-9a-f]{64}$",
    description: "SHA-256 of the content, hex.",
  },
  created: {
    type: "string",
    format: "date-time",
    description: "When the upload was committed.",
  },
} as const;

// Known only for multipart uploads: the file part's name and type.
const FILE_PART_PROPERTIES = {
  filename: {
    type: "string",
    description: "The file part's filename (multipart uploads).",
  },
  contentType: {
    type: "string",
    description: "The file part's Content-Type (multipart uploads).",
  },
} as const;

const SCHEMAS: Record<string, JsonSchema> = {
  Post: object({ userId: integer, id: integer, title: string, body: string }),
  Comment: object({
    postId: integer,
    id: integer,
    name: string,
    email: { type: "string", format: "email" },
    body: string,
  }),
  Album: object({ userId: integer, id: integer, title: string }),
  Photo: object({
    albumId: integer,
    id: integer,
    title: string,
    url: { type: "string", format: "uri" },
    thumbnailUrl: { type: "string", format: "uri" },
  }),
  Todo: object({
    userId: integer,
    id: integer,
    title: string,
    completed: { type: "boolean" },
  }),
  User: object({
    id: integer,
    name: string,
    username: string,
    email: { type: "string", format: "email" },
    address: object({
      street: string,
      suite: string,
      city: string,
      zipcode: string,
      geo: object({ lat: string, lng: string }),
    }),
    phone: string,
    website: string,
    company: object({ name: string, catchPhrase: string, bs: string }),
  }),
  UserSummary: object({
    user: schemaRef("User"),
    posts: { anyOf: [listOf("Post"), { type: "null" }] },
    todos: { anyOf: [listOf("Todo"), { type: "null" }] },
    albums: { anyOf: [listOf("Album"), { type: "null" }] },
    errors: {
      type: "array",
      description: "The parts that failed (their value is `null`).",
      items: object({
        part: { type: "string", enum: ["posts", "todos", "albums"] },
        status: integer,
        detail: string,
      }),
    },
  }),
  FileMetadata: object(
    { ...FILE_METADATA_PROPERTIES, ...FILE_PART_PROPERTIES },
    Object.keys(FILE_METADATA_PROPERTIES),
  ),
  FileList: object({
    items: listOf("FileMetadata"),
    nextCursor: {
      type: "string",
      description: "Present when more files follow; pass it as `cursor`.",
    },
  }, ["items"]),
  UploadResult: withOptional({
    ...FILE_METADATA_PROPERTIES,
    ...FILE_PART_PROPERTIES,
    durationMs: ms("From the first byte to the end of the commit."),
    bytesPerSecond: { type: "number", minimum: 0 },
    readerWaitMs: ms("Reader time in body reads (the network)."),
    readerBlockedMs: ms(
      "Reader time in `put` on a full queue (waiting for the storage).",
    ),
    writerWriteMs: ms("Writer time in storage writes."),
    writerIdleMs: ms(
      "Writer time in `get` on an empty queue (waiting for the body).",
    ),
    maxQueuedBytes: {
      type: "integer",
      minimum: 0,
      description:
        "High-water mark of the queue, at most its capacity (`UPLOAD_QUEUE_BYTES`).",
    },
    bound: {
      type: "string",
      enum: ["read", "write"],
      description: "`write` when the reader was blocked longer than the " +
        "writer was idle, else `read`.",
    },
  }, Object.keys(FILE_PART_PROPERTIES)),
  Status: object({ status: { type: "string", enum: ["ok", "ready"] } }),
  Problem: {
    type: "object",
    description: "RFC 9457 problem details.",
    required: ["type", "title", "status"],
    properties: {
      type: { type: "string", format: "uri-reference", default: "about:blank" },
      title: string,
      status: { type: "integer", minimum: 100, maximum: 599 },
      detail: string,
      instance: { type: "string", format: "uri-reference" },
      requestId: { type: "string", description: "On 5xx answers." },
      upstreamStatus: {
        type: "integer",
        description: "The upstream's status, when it answered.",
      },
      maxBytes: { type: "integer", description: "The limit, on 413." },
      minBytesPerSecond: {
        type: "integer",
        description: "The rate floor, on a 408 for a too slow body.",
      },
      allow: {
        type: "array",
        items: string,
        description: "The allowed methods, on 405.",
      },
    },
    additionalProperties: true,
  },
};

const HEADERS: Record<string, HeaderObject> = {
  ContentDisposition: {
    description: "`attachment` with the filename a multipart upload gave " +
      "(RFC 6266; `filename*` when it is not ASCII); absent otherwise.",
    schema: string,
  },
  ETag: {
    description: "Strong validator of the body; send it as `If-None-Match`.",
    schema: string,
  },
  CacheControl: {
    description: "`public, max-age=<freshness lifetime>` for cached " +
      "reads (`CACHE_TTL_SECONDS`; the answer is fresh while `max-age` " +
      "exceeds `Age`), `no-store` for errors and partial answers.",
    schema: string,
  },
  Age: {
    description: "Seconds the answer has spent in this cache since it " +
      "was fetched from the upstream (for a summary: its oldest part).",
    schema: { type: "integer", minimum: 0 },
  },
  CacheStatus: {
    description: "RFC 9211, e.g. `async-api; hit; ttl=42` or " +
      "`async-api; fwd=miss; stored`.",
    schema: string,
  },
  XRequestId: {
    description: "The request's id: the client's `X-Request-Id` when " +
      "well-formed (1-128 of `[A-Za-z0-9._:-]`), else a fresh one.",
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
  ServerTiming: {
    description: "Where the time went: the cache lookup and the upstream " +
      "fetch for JSONPlaceholder reads; reader wait/blocked and writer " +
      "write/idle times for uploads.",
    schema: string,
  },
  RetryAfter: {
    description: "Seconds to wait before trying again.",
    schema: { type: "integer", minimum: 0 },
  },
  WWWAuthenticate: { description: "The Bearer challenge.", schema: string },
  Link: { description: 'The next page, `rel="next"`.', schema: string },
  AcceptRanges: { description: "`bytes`.", schema: string },
  LastModified: {
    description: "When the file was stored, as an HTTP-date (to the " +
      "second); send it back as `If-Modified-Since` or `If-Range`.",
    schema: string,
  },
};

const RESPONSES: Record<string, ResponseObject> = {
  InvalidId: problemResponse("The id is not a positive integer."),
  InvalidQuery: problemResponse(
    "A query parameter is outside its declared schema (type, minimum, " +
      "maximum, enum).",
  ),
  Unauthorized: {
    ...problemResponse(
      "`UPLOAD_TOKEN` is set and the bearer token is missing or wrong.",
    ),
    headers: {
      "WWW-Authenticate": headerRef("WWWAuthenticate"),
      ...REQUEST_ID_HEADER,
    },
  },
  BadGateway: {
    ...problemResponse(
      "The upstream failed (connection, 5xx, malformed or oversized body) " +
        "and no stale answer could stand in.",
    ),
    headers: {
      "Retry-After": headerRef("RetryAfter"),
      ...REQUEST_ID_HEADER,
    },
  },
  UpstreamBusy: {
    ...problemResponse(
      "The upstream call was shed and no stale answer could stand in: " +
        "`UPSTREAM_QUEUE_LIMIT` requests wait for a slot already, none came " +
        "free within `UPSTREAM_TIMEOUT_MS`, or the circuit breaker is open " +
        "after `UPSTREAM_BREAKER_THRESHOLD` consecutive upstream failures.",
    ),
    headers: {
      "Retry-After": headerRef("RetryAfter"),
      ...REQUEST_ID_HEADER,
    },
  },
  GatewayTimeout: problemResponse(
    "The upstream did not answer within `UPSTREAM_TIMEOUT_MS` (the wait " +
      "for a slot, every attempt and the backoff between them).",
  ),
  Error: problemResponse(
    "Any other error, e.g. 405 (with `Allow`) or 500. Every error is a " +
      "problem response.",
  ),
};

const TAGS: readonly { name: string; description: string }[] = [
  { name: "posts", description: "JSONPlaceholder posts, cached." },
  { name: "comments", description: "JSONPlaceholder comments, cached." },
  { name: "albums", description: "JSONPlaceholder albums, cached." },
  { name: "photos", description: "JSONPlaceholder photos, cached." },
  { name: "todos", description: "JSONPlaceholder todos, cached." },
  { name: "users", description: "JSONPlaceholder users, cached." },
  { name: "files", description: "Streaming uploads and downloads." },
  { name: "health", description: "Greeting and probes." },
  { name: "metrics", description: "Prometheus metrics." },
  { name: "docs", description: "This document and its UI." },
];

const DESCRIPTION = "A cached front for the JSONPlaceholder API and a " +
  "streaming upload service.\n\n" +
  "- `HEAD` works wherever `GET` does: the same status and headers, no " +
  "body; `Content-Length` only when it is the size `GET` sends.\n" +
  "- An unknown path is 404; a known path with another method is 405 with " +
  "`Allow`.\n" +
  "- Every error is an RFC 9457 `application/problem+json` body.\n" +
  "- Every answer carries `X-Request-Id` (the client's, when well-formed).";

// --- The document -----------------------------------------------------------

const PARAM = /:([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * The OpenAPI path template of a URLPattern pathname: `/posts/:id` ->
 * `/posts/{id}`. Throws a `TypeError` for pattern syntax OpenAPI cannot
 * express (wildcards, regular expressions, optional or repeated groups).
 */
export function openApiPath(pattern: string): string {
  const path = pattern.replace(PARAM, "{$1}");
  if (/[*()?+:\\]/.test(path)) {
    throw new TypeError(`Cannot express the pattern in OpenAPI: ${pattern}`);
  }
  return path;
}

/** The `:name` parameters of a URLPattern pathname, in order. */
function patternParameters(pattern: string): string[] {
  return [...pattern.matchAll(PARAM)].map((m) => m[1]!);
}

/** The key of a route in the description table: `"GET /posts/:id"`. */
export function operationKey(route: RouteShape): string {
  return `${route.method.toUpperCase()} ${route.pattern}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * Builds the OpenAPI 3.1 document of `routes`.
 *
 * Throws an `Error` listing every disagreement between the routes and the
 * descriptions: a route with no description, a description with no route
 * (unless optional), path parameters that differ, or a repeated
 * `operationId`.
 */
export function openApiDocument(
  routes: readonly RouteShape[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  const {
    operations = OPERATIONS,
    optional = OPTIONAL_OPERATIONS,
    title = "async-api",
    version = denoJson.version,
  } = options;
  const errors: string[] = [];
  const used = new Set<string>();
  const operationIds = new Set<string>();
  const paths: Record<string, Record<string, OperationObject>> = {};

  for (const route of routes) {
    const key = operationKey(route);
    const description = operations[key];
    if (description === undefined) {
      errors.push(`route ${key} has no operation description`);
      continue;
    }
    if (used.has(key)) {
      errors.push(`route ${key} appears twice`);
      continue;
    }
    used.add(key);
    if (operationIds.has(description.operationId)) {
      errors.push(`operationId ${description.operationId} is not unique`);
    }
    operationIds.add(description.operationId);

    const names = patternParameters(route.pattern);
    const described = Object.keys(description.pathParameters ?? {});
    const missing = names.filter((name) => !described.includes(name));
    const extra = described.filter((name) => !names.includes(name));
    if (missing.length > 0 || extra.length > 0) {
      errors.push(
        `${key}: path parameters [${names}] but described [${described}]`,
      );
      continue;
    }
    const pathParameters: ParameterObject[] = names.map((name) => {
      const { description: text, schema, example } = description
        .pathParameters![name]!;
      return {
        name,
        in: "path",
        required: true,
        description: text,
        schema,
        ...(example === undefined ? {} : { example }),
      };
    });

    const operation: OperationObject = {
      operationId: description.operationId,
      summary: description.summary,
      tags: [...description.tags],
      parameters: [...pathParameters, ...(description.parameters ?? [])],
      responses: { ...description.responses },
    };
    if (description.description !== undefined) {
      operation.description = description.description;
    }
    if (description.requestBody !== undefined) {
      operation.requestBody = description.requestBody;
    }
    if (description.security !== undefined) {
      operation.security = description.security.map((requirement) =>
        Object.fromEntries(
          Object.entries(requirement).map(([name, scopes]) => [name, [
            ...scopes,
          ]]),
        )
      );
    }
    let path: string;
    try {
      path = openApiPath(route.pattern);
    } catch (error) {
      errors.push((error as Error).message);
      continue;
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }

  for (const key of Object.keys(operations)) {
    if (!used.has(key) && !optional.has(key)) {
      errors.push(`operation description ${key} has no route`);
    }
  }
  if (errors.length > 0) {
    throw new Error(
      `The OpenAPI descriptions disagree with the route table:\n- ${
        errors.join("\n- ")
      }`,
    );
  }

  const usedTags = new Set(
    Object.values(paths).flatMap((item) =>
      Object.values(item).flatMap((op) => op.tags)
    ),
  );
  // A deep copy: callers may change the document without touching the
  // shared tables (and the shared objects are not aliased in the JSON).
  return clone({
    openapi: "3.1.0",
    info: { title, version, description: DESCRIPTION },
    servers: [{ url: "/", description: "This service (same origin)" }],
    tags: TAGS.filter((tag) => usedTags.has(tag.name)),
    security: [],
    paths,
    components: {
      schemas: SCHEMAS,
      responses: RESPONSES,
      headers: HEADERS,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "`UPLOAD_TOKEN`, when the service runs with one.",
        },
      },
    },
  });
}
