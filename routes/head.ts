/**
 * `HEAD` from a `GET` answer: the same status and headers, no body. A
 * `Content-Length` is sent only when it is exactly what `GET` sends; the
 * server would otherwise describe the empty `HEAD` body as
 * `Content-Length: 0`, a false size that clients and caches believe.
 *
 * @module
 */

/**
 * Bodies without a `Content-Length` header are measured up to this many
 * bytes: such bodies are built in memory (JSON, metrics text), and reading
 * them costs no more than `GET` does. Longer ones are sent without a length.
 */
export const HEAD_MEASURE_BYTES = 256 * 1024;

// An empty body that is not `null`: Deno then sends neither a length nor
// any body bytes for a HEAD request.
function noLength(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

async function measure(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<number | undefined> {
  const reader = body.getReader();
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return size;
      size += value.byteLength;
      if (size > limit) return undefined;
    }
  } catch {
    // A body that fails is a GET that would fail midway: no length to tell.
    return undefined;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The `HEAD` answer made from `response`, the answer to the same request
 * as `GET`: its status and headers without its body. An explicit
 * `Content-Length` is kept; without one, a body of at most `limit` bytes
 * is measured and its size sent; a longer body is dropped and no length is
 * sent at all.
 */
export async function headOf(
  response: Response,
  limit: number = HEAD_MEASURE_BYTES,
): Promise<Response> {
  if (response.body === null) return response;
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  };
  if (init.headers.has("content-length")) {
    await response.body.cancel();
    return new Response(null, init);
  }
  // An event stream never ends: nothing to measure (cancelling it ends the
  // subscription the GET handler opened).
  if (init.headers.get("content-type")?.startsWith("text/event-stream")) {
    await response.body.cancel();
    return new Response(noLength(), init);
  }
  const size = await measure(response.body, limit);
  if (size === undefined) return new Response(noLength(), init);
  init.headers.set("content-length", String(size));
  return new Response(null, init);
}
