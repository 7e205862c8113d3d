/**
 * An S3 answer's body bounded by the store's silence: the clock runs only
 * while a chunk is awaited, so a slow reader downstream does not count
 * against the store.
 *
 * @module
 */

import { silentFor } from "./s3_errors.ts";

/**
 * `res` with a body that fails once the store sends nothing for `ms` while
 * it is being read; the request is then aborted through `timeout` and the
 * body cancelled (aborting alone leaves a body read pending: Deno's fetch
 * does not end a body already under way). The clock runs only while a chunk
 * is awaited: a reader that takes its time (a slow client downloading)
 * does not count against the store.
 */
export function idleTimed(
  res: Response,
  ms: number,
  timeout: AbortController,
): Response {
  // HEAD and 204 answers have no body to wait for.
  if (!res.body || res.status === 204) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(silentFor(ms)), ms);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), late]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        timeout.abort(error);
        reader.cancel(error).catch(() => {});
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}
