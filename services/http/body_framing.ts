/**
 * A request body framed by neither `Content-Length` nor `Transfer-Encoding`.
 * Over HTTP/1.x such a request has no body (RFC 9112 6.3): what an
 * HTTP/1.0 client streams after its headers (or `curl -T -` with its
 * chunked coding turned off) is not read, and the runtime hands the handler
 * an empty body, indistinguishable from an upload of nothing. Over HTTP/2
 * the frames delimit a body without either header, and the runtime shows
 * no HTTP version: so the body is let through, and only one that ends
 * before its first byte is refused, with 411 Length Required (RFC 9110
 * 15.5.12), where an empty file would have been stored.
 *
 * ```ts ignore
 * const body = isUnframed(req.headers) ? lengthRequired(req.body!) : req.body!;
 * ```
 *
 * A body framed by a transfer coding besides `chunked` (`Transfer-Encoding:
 * gzip, chunked`) arrives with the chunked framing taken off by the runtime
 * and the other coding still on; nothing here decodes transfer codings (a
 * coding of the content goes in `Content-Encoding`), so such a body is
 * refused with 501 (RFC 9112 6.1) rather than taken as its coded bytes.
 * And a body with `Content-Range` is a piece of a representation, which
 * nothing here assembles: 400, as RFC 9110 14.5 asks of a PUT with it, lest
 * the piece be taken as the whole.
 *
 * A request that announces a body its route does not read (any `GET`,
 * `HEAD`, `DELETE` or `OPTIONS`: see routes/pipeline.ts) has its
 * connection closed after the answer when {@linkcode announcesLongBody}:
 * the body is chunked or longer than {@linkcode DISCARDED_BODY_BYTES}.
 *
 * @module
 */

import { contentLengthOf } from "./content_length.ts";
import { problem } from "./problem.ts";

/**
 * The longest announced body left unread whose connection is not closed
 * after the answer. Deno 2.9.6 keeps a connection alive after a body it
 * discards only when the body is tiny (a `GET` with 200 bytes sent with
 * its head: the next request answered; 500 bytes and more: `Connection:
 * close`, then it reads the rest to its end, ~1.5 GB/s of a declared
 * 100 GB); 1 KiB leaves those tiny bodies alone with some room.
 */
export const DISCARDED_BODY_BYTES = 1024;

/** A body with no framing header ended empty: the client must send one. */
export class LengthRequiredError extends Error {
  /** Creates the error. */
  constructor() {
    super(
      "The body came with neither Content-Length nor Transfer-Encoding, " +
        "so over HTTP/1.x it is empty: send Content-Length (or chunked)",
    );
    this.name = "LengthRequiredError";
  }
}

/** Whether `headers` frame a body by neither `Content-Length` nor coding. */
export function isUnframed(headers: Headers): boolean {
  return !headers.has("content-length") && !headers.has("transfer-encoding");
}

/**
 * `body`, that errors with {@linkcode LengthRequiredError} when it ends
 * without a byte (for a body {@linkcode isUnframed}).
 */
export function lengthRequired(
  body: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  let received = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        controller.enqueue(chunk);
      },
      flush() {
        if (received === 0) throw new LengthRequiredError();
      },
    }),
  );
}

/**
 * Whether `Transfer-Encoding` names a coding besides `chunked` (see the
 * module doc); `chunked` alone, or no such header, is `false`.
 */
export function hasOtherTransferCoding(headers: Headers): boolean {
  const value = headers.get("transfer-encoding");
  if (value === null) return false;
  return value.split(",").some((coding) => {
    const name = coding.trim().toLowerCase();
    return name !== "" && name !== "chunked";
  });
}

/**
 * The 501 for a body with a transfer coding besides `chunked`, at
 * `instance`, with `headers`.
 */
export function transferCodingNotImplemented(
  instance: string,
  headers: Record<string, string> = {},
): Response {
  return problem(501, {
    detail: "The body's Transfer-Encoding names a coding besides chunked, " +
      "which is not decoded: send it chunked only, with a coding of the " +
      "content in Content-Encoding (gzip or deflate)",
    instance,
  }, { headers });
}

/**
 * The 400 for a body with `Content-Range` (see the module doc), at
 * `instance`, with `headers`; `undefined` when there is none.
 */
export function partialBodyRefused(
  requestHeaders: Headers,
  instance: string,
  headers: Record<string, string> = {},
): Response | undefined {
  if (!requestHeaders.has("content-range")) return undefined;
  return problem(400, {
    title: "Partial body",
    detail: "The body has a Content-Range: pieces are not taken; send " +
      "the whole body in one request",
    instance,
  }, { headers });
}

/**
 * Whether `headers` announce a body that, left unread, ends the connection
 * anyway: chunked (no length to bound it), or a `Content-Length` over
 * {@linkcode DISCARDED_BODY_BYTES}. Two header reads: a plain `GET` has
 * neither.
 */
export function announcesLongBody(headers: Headers): boolean {
  if (headers.get("transfer-encoding") !== null) return true;
  const length = contentLengthOf(headers);
  return length !== undefined && length > DISCARDED_BODY_BYTES;
}
