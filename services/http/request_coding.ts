/**
 * A request body's `Content-Encoding` (RFC 9110 8.4): the codings a small
 * body read whole is decoded from (`gzip`, `deflate`, as Express's
 * body-parser and so json-server take them), and the `Accept-Encoding`
 * that names them in a 415 refusing any other (RFC 9110 12.5.3).
 *
 * @example Usage
 * ```ts
 * import { decodedBody, requestCoding } from "./request_coding.ts";
 *
 * const req = new Request("http://x/", {
 *   method: "POST",
 *   headers: { "content-encoding": "GZIP" },
 *   body: new Uint8Array(0),
 * });
 * const coding = requestCoding(req.headers.get("content-encoding"));
 * coding; // "gzip"
 * if (coding !== undefined) decodedBody(req.body!, coding);
 * ```
 *
 * @module
 */

/** A coding a request body can be decoded from; `identity` is none. */
export type RequestCoding = "gzip" | "deflate" | "identity";

/** The value of `Accept-Encoding` on a 415 for another coding. */
export const ACCEPTED_REQUEST_CODINGS = "gzip, deflate";

/**
 * The coding named by a `Content-Encoding` value, `identity` when it is
 * absent or empty, or `undefined` for one not taken (another coding, or
 * several in a row: body-parser takes exactly one).
 */
export function requestCoding(
  contentEncoding: string | null,
): RequestCoding | undefined {
  const name = (contentEncoding ?? "").trim().toLowerCase();
  if (name === "" || name === "identity") return "identity";
  return name === "gzip" || name === "deflate" ? name : undefined;
}

/**
 * `body` decoded from `coding` (`deflate` is the zlib format, as HTTP
 * names it); as it is for `identity`. A body that is not in its coding
 * errors the stream.
 */
export function decodedBody(
  body: ReadableStream<Uint8Array>,
  coding: RequestCoding,
): ReadableStream<Uint8Array> {
  if (coding === "identity") return body;
  // Typed as taking any BufferSource; Uint8Array chunks are what it gets.
  const decoder = new DecompressionStream(
    coding,
  ) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
  return body.pipeThrough(decoder);
}
