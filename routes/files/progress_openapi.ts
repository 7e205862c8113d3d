/**
 * The OpenAPI fragment of the live progress (`GET /uploads`,
 * `GET /uploads/events`) and of the upload page (`GET /upload` and its
 * assets), with
 * the schemas only they use (from `schemas.ts`).
 *
 * @module
 */

import type {
  ApiFragment,
  OperationDescription,
} from "../../services/ops/openapi.ts";
import {
  ASSET_HEADERS,
  COMMON_HEADERS,
  DEFAULT_ERROR,
  headerRef,
  json,
  PAGE_HEADERS,
  problemResponse,
  queryParameters,
  responseRef,
  retryLater,
  schemaRef,
  staticTextOperation,
  textHeader,
  UNCACHED_HEADERS,
} from "../../services/ops/openapi_parts.ts";
import {
  UploadEventsQuerySchema,
  UploadFailedSchema,
  UploadListSchema,
  UploadProgressSchema,
} from "./schemas.ts";

const OPTIONAL_BEARER = [{}, { bearer: [] }] as const;

const EVENTS_DESCRIPTION =
  "Server-Sent Events (`curl -N`, `EventSource`, or `fetch` when a token " +
  "is needed, since `EventSource` sends no headers). For each upload in " +
  "flight: `event: progress` a few times a second, its data an " +
  "`UploadProgress`; then once `event: done` (data: the `UploadResult`, " +
  "with the verdict `bound`) or `event: failed` (data: an `UploadFailed`: " +
  "the figures so far, the outcome and the status answered). The uploads " +
  "running when the stream opens are sent at once; a `: heartbeat` " +
  "comment comes every 15 s. With `id`, only that upload's events, and " +
  "the stream ends after its `done` or `failed` (so a client can " +
  "subscribe before it sends its `Upload-Id`), which then carries " +
  "`id: ended`. An upload refused 409 because its `Upload-Id` was taken " +
  "sends `failed` to the streams of every upload only: a stream of `id` " +
  "waits for the upload that holds the id. With `REDIS_URL`, the uploads of every process sharing " +
  "the Redis (`deno serve --parallel` workers, instances behind a load " +
  "balancer) are streamed the same way, relayed over Redis. Without it, " +
  "or when a relayed message is lost, an upload that ran in another " +
  "process sharing the storage ends such a stream once it is stored, " +
  "within about a second, with `event: done` whose data is the stored " +
  "file's `FileMetadata` (no figures). A stream of `id` opened after " +
  "that upload ended (within 60 s, in this process or, with `REDIS_URL`, " +
  "any) gets its `done` or `failed` at once and ends. " +
  "EventSource's reconnect sends `id: ended` back as " +
  "`Last-Event-ID` and gets 204, after which it stops. Bounded: at " +
  "most `MAX_UPLOAD_WATCHERS` subscribers (503 past it), at most " +
  "`MAX_UPLOAD_WATCHERS_PER_CLIENT` from one client address (429 past " +
  "it), and a " +
  "subscriber that reads too slowly to keep up is dropped (the stream " +
  "ends; reconnect). Not compressed, not cached. When the service runs " +
  "with `UPLOAD_TOKEN`, a bearer token is needed; streams end once a " +
  "shutdown has let the last upload finish.";

/** The upload page or one of its assets, sent with `headers`. */
function page(
  operationId: string,
  summary: string,
  description: string,
  mediaType: string,
  headers: typeof ASSET_HEADERS | typeof PAGE_HEADERS,
): OperationDescription {
  return staticTextOperation({
    operationId,
    summary,
    description,
    tags: ["uploads"],
    what: "The text",
    content: { [mediaType]: { schema: { type: "string" } } },
    headers,
  });
}

/** The progress routes' part of the OpenAPI document. */
export const progressDocs: ApiFragment = {
  tags: [{
    name: "uploads",
    description: "Watching uploads in flight: their reader and writer at " +
      "work, live.",
  }],
  operations: {
    "GET /uploads": {
      operationId: "listUploads",
      summary: "Uploads in flight",
      description: "Each upload running now with its figures so far: " +
        "bytes received, the declared length, the rate over the last " +
        "second, the reader's time waiting on the network and blocked on " +
        "the full queue, the writer's time writing and idle, the queue's " +
        "fill and what bounds it so far. With `REDIS_URL`, those of " +
        "every process sharing the Redis, this one's first (another's " +
        "leave the list at their ending, or 3 s after their last relayed " +
        "figures). When the service runs with " +
        "`UPLOAD_TOKEN`, a bearer token is needed.",
      tags: ["uploads"],
      responses: {
        "200": {
          description: "The uploads in flight, oldest first.",
          headers: {
            "Cache-Control": headerRef("CacheControl"),
            ...COMMON_HEADERS,
          },
          content: json(schemaRef("UploadList")),
        },
        "401": responseRef("Unauthorized"),
        ...DEFAULT_ERROR,
      },
      security: OPTIONAL_BEARER,
    },
    "GET /uploads/events": {
      operationId: "watchUploads",
      summary: "Follow uploads live (Server-Sent Events)",
      description: EVENTS_DESCRIPTION,
      tags: ["uploads"],
      parameters: [
        ...queryParameters(UploadEventsQuerySchema),
        textHeader(
          "Last-Event-ID",
          "Sent by EventSource when it reconnects: `ended` (with `id`) " +
            "says that upload's ending came, and is answered 204.",
        ),
      ],
      responses: {
        "200": {
          description: "The event stream; it stays open.",
          headers: {
            "Cache-Control": headerRef("CacheControl"),
            "X-Accel-Buffering": headerRef("XAccelBuffering"),
            ...COMMON_HEADERS,
          },
          content: {
            "text/event-stream": {
              // The data of each event: text/event-stream has no way to
              // say more (OpenAPI 3.2's itemSchema would).
              schema: {
                description: "The JSON data of each event: " +
                  "`progress` an `UploadProgress`, `done` an " +
                  "`UploadResult` (or, for an upload found stored by " +
                  "another process, the stored file's `FileMetadata`), " +
                  "`failed` an `UploadFailed`.",
                // FileMetadata too: a done learnt from the storage has
                // no figures (a validating generated client refused it).
                oneOf: [
                  schemaRef("UploadProgress"),
                  schemaRef("UploadResult"),
                  schemaRef("FileMetadata"),
                  schemaRef("UploadFailed"),
                ],
              },
            },
          },
        },
        "204": {
          description: "`Last-Event-ID: ended` with `id`: that upload " +
            "is over, nothing more will come (EventSource stops).",
          headers: UNCACHED_HEADERS,
        },
        "400": problemResponse("A malformed `id`."),
        "401": responseRef("Unauthorized"),
        "429": retryLater(
          "This client address holds `MAX_UPLOAD_WATCHERS_PER_CLIENT` " +
            "streams already.",
        ),
        "503": retryLater(
          "`MAX_UPLOAD_WATCHERS` subscribers already, or the service is " +
            "shutting down.",
        ),
        ...DEFAULT_ERROR,
      },
      security: OPTIONAL_BEARER,
    },
    "GET /upload": page(
      "uploadPage",
      "Upload page",
      "A page that uploads files, as many at a time as the browser " +
        "can run (the others listed as waiting), and shows each one's " +
        "progress live: bytes, " +
        "rate and time left, the reader (waiting on the network or " +
        "blocked on the full queue), the queue's fill and the writer " +
        "(writing or idle), then the stored file's id, size, SHA-256, a " +
        "download link and the verdict read-, write- or hash-bound; Cancel " +
        "stops a waiting or running upload (nothing is kept). Served " +
        "by this service with a same-origin Content-Security-Policy; with " +
        "`UPLOAD_TOKEN` the page asks for the token.",
      "text/html",
      PAGE_HEADERS,
    ),
    "GET /assets/upload.js": page(
      "uploadPageScript",
      "Upload page script",
      "The script of the upload page.",
      "text/javascript",
      ASSET_HEADERS,
    ),
    "GET /assets/upload_events.js": page(
      "uploadPageEventsWorker",
      "Upload page event worker",
      "The SharedWorker through which the upload page's tabs share one " +
        "`GET /uploads/events` stream.",
      "text/javascript",
      ASSET_HEADERS,
    ),
    "GET /assets/upload.css": page(
      "uploadPageStyles",
      "Upload page styles",
      "The styles of the upload page.",
      "text/css",
      ASSET_HEADERS,
    ),
  },
  headers: {
    XAccelBuffering: {
      description: "`no`: a proxy in front (nginx) passes each event on " +
        "at once instead of buffering the stream.",
      schema: { type: "string" },
    },
  },
  schemas: {
    UploadProgress: UploadProgressSchema,
    UploadList: UploadListSchema,
    UploadFailed: UploadFailedSchema,
  },
};
