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
 * @module
 */

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
