/**
 * `GET`/`HEAD /files/:id`: streams a stored file back with `ETag`,
 * `Last-Modified`, conditional requests (`If-None-Match`,
 * `If-Modified-Since`, `If-Match`, `If-Unmodified-Since`) and one byte
 * range, guarded by an entity-tag or date `If-Range`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  evaluatePreconditions,
  formatHttpDate,
  preconditionFailed,
  rangeApplies,
  strongLastModified,
  type Validators,
} from "../../services/http/conditional.ts";
import type { FileStorage, ReadRange } from "../../services/storage/storage.ts";
import { attachment } from "../../services/http/attachment.ts";
import { problem } from "../../services/http/problem.ts";
import { parseRange } from "../../services/http/range.ts";
import { servedContentType } from "../../services/http/served_type.ts";
import { withSendTimeout } from "../../services/http/stall_timeout.ts";
import { BodySourceError } from "../../services/http/body_source_error.ts";
import type { FileMetadata } from "../../services/storage/metadata.ts";
import type { Handler, RouteContext } from "../router.ts";

/**
 * The validators of a stored file: its content hash and its commit time
 * (stored files never change; a file deleted and stored again under its
 * id is another version, which may have the same time to the second: an
 * answer sends it once strong, see `downloadValidators`).
 */
export function fileValidators(meta: FileMetadata): Validators {
  const created = Date.parse(meta.created);
  return Number.isFinite(created)
    ? { etag: `"${meta.sha256}"`, lastModified: created }
    : { etag: `"${meta.sha256}"` };
}

/**
 * The validators a download answers about `meta` with, the version looked
 * up at `currentAt` or later: `Last-Modified` only once it is strong (see
 * `strongLastModified`). Until then the answer has the `ETag` alone, so
 * no client holds a date that could name the version after it (its
 * `If-Range` would get a range of the new bytes) or make an
 * `If-Modified-Since` 304 for it.
 */
function downloadValidators(meta: FileMetadata, currentAt: number): Validators {
  const validators = fileValidators(meta);
  const { etag, lastModified } = validators;
  return lastModified === undefined ||
      strongLastModified(lastModified, currentAt)
    ? validators
    : { etag };
}

/** `Repr-Digest` value of a file. */
function reprDigest(meta: FileMetadata): string {
  return `sha-256=:${Buffer.from(meta.sha256, "hex").toString("base64")}:`;
}

/** The headers that describe the file's bytes, added to `headers`. */
function addContentHeaders(
  headers: Record<string, string>,
  meta: FileMetadata,
): void {
  // The type the uploader declared, unless a browser would run it
  // (services/http/served_type.ts), taken as sent: every Response says
  // `X-Content-Type-Options: nosniff` (routes/finish.ts).
  headers["content-type"] = servedContentType(meta.contentType);
  // The name a form upload gave, so a browser saves it as such (always
  // as an attachment: never shown inline, whatever its type).
  if (meta.filename !== undefined) {
    headers["content-disposition"] = attachment(meta.filename);
  }
  headers["accept-ranges"] = "bytes";
  headers["repr-digest"] = reprDigest(meta);
}

function notFound(ctx: RouteContext): Response {
  return problem(404, { detail: "No such file", instance: ctx.url.pathname });
}

/** Options of {@linkcode downloadHandler}. */
export interface DownloadOptions {
  /**
   * A client that reads nothing for this long is closed, and the file it
   * held released (slow-read attacks, dead clients).
   */
  idleTimeoutMs: number;
}

/** What a `GET` sends: status, headers and which bytes of the file. */
interface Sending {
  status: number;
  headers: Record<string, string>;
  range: ReadRange | undefined;
}

/**
 * The answer about file `meta`: a Response when it has no body to stream
 * (304, 412, 416, any `HEAD`), else what to send.
 */
function answerFor(
  meta: FileMetadata,
  req: Request,
  ctx: RouteContext,
  currentAt: number,
): Response | Sending {
  const validators = downloadValidators(meta, currentAt);
  const headers: Record<string, string> = {
    "etag": validators.etag,
    // no-transform: the stored bytes go out as stored (Repr-Digest names
    // them), never recoded on the way; it also tells the compressor that
    // a 304, which has no Content-Type, does not vary on Accept-Encoding
    // (RFC 9110 15.4.5: the Vary and ETag of its 200).
    "cache-control": "private, max-age=0, must-revalidate, no-transform",
  };
  if (validators.lastModified !== undefined) {
    headers["last-modified"] = formatHttpDate(validators.lastModified);
  }
  const outcome = evaluatePreconditions(req.method, req.headers, validators);
  if (outcome === "not-modified") {
    return new Response(null, { status: 304, headers });
  }
  if (outcome === "failed") {
    return preconditionFailed(ctx.url.pathname, validators.etag);
  }
  addContentHeaders(headers, meta);
  // A stale If-Range validator means "send it all", not a wrong slice.
  const range = rangeApplies(req.headers, validators)
    ? parseRange(req.headers.get("range"), meta.size)
    : undefined;
  if (range === "unsatisfiable") {
    return problem(416, {
      detail: `The range is outside the file's ${meta.size} bytes`,
      instance: ctx.url.pathname,
    }, { headers: { "content-range": `bytes */${meta.size}` } });
  }
  headers["content-length"] = String(
    range ? range.end - range.start + 1 : meta.size,
  );
  if (range) {
    headers["content-range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
  }
  const status = range ? 206 : 200;
  // HEAD needs the headers only: the file is not even opened.
  if (req.method === "HEAD") return new Response(null, { status, headers });
  return { status, headers, range };
}

// A file replaced (deleted and stored again, by another process too)
// between its stat and its opening is looked up again, this many times.
const ATTEMPTS = 3;

/** The Response streaming `stream`, as `sending` describes it. */
function streamed(
  stream: ReadableStream<Uint8Array>,
  sending: Sending,
  req: Request,
  ctx: RouteContext,
  idleTimeoutMs: number,
): Response {
  const { status, headers } = sending;
  return new Response(
    withSendTimeout(stream, {
      req,
      timeoutMs: idleTimeoutMs,
      length: Number(headers["content-length"]),
      // The store failing mid-body is logged with this request.
      sourceFailure: (error) =>
        new BodySourceError(
          { requestId: ctx.requestId, path: ctx.url.pathname },
          error,
        ),
    }),
    { status, headers },
  );
}

/**
 * A `GET` from a store that opens first (`FileStorage.open`): the answer
 * decided on the very file it streams, with no look-up before the open.
 */
async function openedAnswer(
  open: NonNullable<FileStorage["open"]>,
  req: Request,
  ctx: RouteContext,
  idleTimeoutMs: number,
): Promise<Response> {
  // Before the look-up: the version found was current then or later.
  const currentAt = Date.now();
  const opened = await open(ctx.params.id ?? "");
  if (!opened) return notFound(ctx);
  let answer: Response | Sending;
  try {
    answer = answerFor(opened.meta, req, ctx, currentAt);
  } catch (error) {
    opened.close();
    throw error;
  }
  if (answer instanceof Response) {
    opened.close();
    return answer;
  }
  const stream = await opened.read(answer.range);
  return streamed(stream, answer, req, ctx, idleTimeoutMs);
}

/** The handler of `GET /files/:id` (the router sends `HEAD` here too). */
export function downloadHandler(
  store: FileStorage,
  options: DownloadOptions,
): Handler {
  const { idleTimeoutMs } = options;
  const open = store.open?.bind(store);
  return async (req, ctx) => {
    // HEAD opens nothing: it takes `stat` alone.
    if (req.method === "GET" && open) {
      return await openedAnswer(open, req, ctx, idleTimeoutMs);
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // Before the look-up: the version found was current then or later.
      const currentAt = Date.now();
      const meta = await store.stat(ctx.params.id ?? "");
      if (!meta) return notFound(ctx);
      const answer = answerFor(meta, req, ctx, currentAt);
      if (answer instanceof Response) return answer;
      // Only the bytes of the version the headers describe: undefined
      // when the file opened is another by now, or gone.
      const stream = await store.read(meta.id, answer.range, meta);
      if (stream) return streamed(stream, answer, req, ctx, idleTimeoutMs);
    }
    return problem(503, {
      title: "File replaced",
      detail: "The file was replaced while being opened; try again",
      instance: ctx.url.pathname,
    }, { headers: { "retry-after": "1" } });
  };
}
