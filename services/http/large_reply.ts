/**
 * A large answer from memory (a cached `/photos`, ~1 MB) sent as slices of
 * its one shared buffer, paced by the client, instead of as the buffer
 * itself. The runtime copies a `Uint8Array` body whole into a native
 * buffer per response and holds the copy until the client has read it all:
 * over HTTP/2, a client that held its flow-control window at 0 and opened
 * 200 streams of `/photos` on one socket made the process hold ~1 MB per
 * stream (+190 MB), and such an answer, given at once, counted idle, so
 * neither the streams cap nor any timer bounded it before the keep-alive
 * timeout. A streamed body is asked for one slice at a time, as the
 * client's window and socket take the last: a stream holds at most one
 * slice, whatever its client does.
 *
 * Such an answer is a download like a stored file's: it goes out under the
 * send timeout (`stall_timeout.ts`; a client that reads nothing for
 * `timeoutMs` has its connection closed, HTTP/2 streams and all), and the
 * server counts its connection busy until it is sent, so
 * `MAX_STREAMS_PER_CONNECTION` bounds how many one connection holds.
 * Small answers (up to {@linkcode LARGE_BODY_BYTES}) keep the cheap path:
 * one native copy, a few hundred bytes for `/posts/1`.
 *
 * @module
 */

import { concat } from "./bytes_concat.ts";
import { lengthOf, Pieces } from "./pieces.ts";
import { headRecord, type Reply } from "./reply.ts";
import { type SendTimeoutOptions, withSendTimeout } from "./stall_timeout.ts";

/**
 * Bodies larger than this go out in slices. 16 KiB is one HTTP/2 frame of
 * the default size: up to it, a held copy per stream (200 a connection)
 * costs about what the runtime's own state of each stream does (~15 KB).
 */
export const LARGE_BODY_BYTES = 16_384;

// The size of a slice. A slice waiting on a closed HTTP/2 window is a view
// of the cached buffer, not a copy (10 sockets x 32 held streams of
// /photos cost the same with 16 KiB and 256 KiB slices); over HTTP/1.1 the
// runtime holds the slice it is writing. Each slice is a write and a
// timer: 16 KiB ones cost a third more CPU per /photos than the whole
// buffer did, 64 KiB ones no more.
const SLICE_BYTES = 65_536;

/**
 * A body of `parts` one after the other: joined when it is small (the
 * cheap path: one short copy, sent at once), else as {@linkcode Pieces},
 * sent as views of the parts by {@linkcode largeResponseOf}, so no answer
 * in flight holds a copy of them.
 */
export function bodyOf(parts: readonly Uint8Array[]): Uint8Array | Pieces {
  const length = lengthOf(parts);
  return length <= LARGE_BODY_BYTES
    ? concat([...parts], length)
    : new Pieces(parts);
}

/**
 * The `Response` of `reply`, whose body is larger than
 * {@linkcode LARGE_BODY_BYTES}: its bytes (or its pieces' bytes) sent as
 * views of the same buffers, one per request of the runtime, with
 * `Content-Length` (an HTTP/1.1 client sees the same head and bytes as for
 * a buffered body).
 */
export function largeResponseOf(
  reply: Reply,
  options: SendTimeoutOptions,
): Response {
  const body = reply.body;
  if (body === null) throw new TypeError("a large reply needs a body");
  // A streamed body has no length of its own: the runtime would send it
  // chunked without this one.
  const head = headRecord(reply);
  head["content-length"] = String(body.byteLength);
  const pieces = body instanceof Pieces ? body : new Pieces([body]);
  const stream = withSendTimeout(pieces.slices(SLICE_BYTES), {
    ...options,
    length: body.byteLength,
  });
  return new Response(stream, { status: reply.status, headers: head });
}
