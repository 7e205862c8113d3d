/**
 * An answer rebuilt around its compressed body, for the compressor of
 * `compression.ts`: a `Response` or a `Reply` with the encoded bytes (and
 * their `Content-Length`), or a `Response` whose long body is compressed
 * as it streams (no `Content-Length`, no `Accept-Ranges`: ranges of the
 * coded stream are not served). Each carries `Content-Encoding` and the
 * variant's `ETag`.
 *
 * @module
 */

import { STREAM_FORMATS } from "./encoders.ts";
import type { Reply } from "./reply.ts";
import type { Variant } from "./compressed_variant.ts";

/** `response` with `body`, its compressed bytes, as `variant` says. */
export function encodedResponse(
  response: Response,
  body: Uint8Array,
  variant: Variant,
): Response {
  const headers = new Headers(response.headers);
  headers.set("content-encoding", variant.coding);
  headers.set("content-length", String(body.byteLength));
  if (variant.etag !== undefined) headers.set("etag", variant.etag);
  return new Response(body as Uint8Array<ArrayBuffer>, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** `reply` with `body`, its compressed bytes, as `variant` says. */
export function encodedReply(
  reply: Reply,
  body: Uint8Array,
  variant: Variant,
): Reply {
  const headers: Record<string, string> = {
    ...reply.headers,
    "content-encoding": variant.coding,
    "content-length": String(body.byteLength),
  };
  if (variant.etag !== undefined) headers.etag = variant.etag;
  return { status: reply.status, headers, body };
}

/** A body too long to buffer: compressed as it streams. */
export function streamedResponse(
  response: Response,
  body: ReadableStream<Uint8Array>,
  variant: Variant,
): Response {
  const headers = new Headers(response.headers);
  headers.set("content-encoding", variant.coding);
  headers.delete("content-length");
  headers.delete("accept-ranges");
  if (variant.etag !== undefined) headers.set("etag", variant.etag);
  const format = new CompressionStream(STREAM_FORMATS[variant.coding]);
  return new Response(
    body.pipeThrough(
      format as unknown as TransformStream<Uint8Array, Uint8Array<ArrayBuffer>>,
    ),
    { status: response.status, statusText: response.statusText, headers },
  );
}
