/**
 * A {@linkcode Reply}: an answer whose head is still a plain record, for
 * the hot path. Deno prepares a `Response`'s head natively as the
 * `Response` is built; reading or changing its headers afterwards
 * (`response.headers`) drops that, builds a `Headers` object, and
 * serialises the headers a second time when the answer is sent. A route
 * that answers from memory returns a `Reply`; the pipeline adds its own
 * headers (`X-Request-Id`, `Vary`, a content coding) to the record and
 * builds the `Response` once, with {@linkcode responseOf}.
 *
 * @module
 */

import type { Pieces } from "./pieces.ts";

/** An answer not yet made into a `Response`. */
export interface Reply {
  /** The HTTP status. */
  status: number;
  /**
   * The header fields, names in lower case. `Content-Length` may be left
   * out when there is a body: the runtime writes the body's own, and the
   * pipeline adds it to the answer to `HEAD` (routes/finish.ts).
   */
  headers: Record<string, string>;
  /**
   * The body, or `null` for none (a 304, or the answer to `HEAD`); or its
   * {@linkcode Pieces}, a large body never joined (a summary's cached
   * parts), which only the pipeline's large path sends
   * (services/http/large_reply.ts).
   */
  body: Uint8Array | Pieces | null;
}

/** Whether a handler's answer is a {@linkcode Reply} (not a `Response`). */
export function isReply(answer: Response | Reply): answer is Reply {
  return !(answer instanceof Response);
}

/**
 * The `Response` of `reply`. For `HEAD`, pass it with a `null` body: its
 * `Content-Length` (the length `GET` sends) is kept. With a body, the
 * runtime writes `Content-Length` from the bytes itself, so the record's
 * copy is left out (one header less to convert and check).
 *
 * The head goes to the runtime as a record ({@linkcode headRecord}): Deno
 * 2.9.6 takes a record's fields with one `for...in`, where pairs go through
 * the WebIDL sequence conversion one pair at a time (callgrind: 8.5k fewer
 * instructions per cached hit, 7 %, bench/PROFILE.md, eleventh round).
 */
export function responseOf(reply: Reply): Response {
  // Never pieces: those are large, sent by large_reply.ts.
  return new Response(reply.body as Uint8Array<ArrayBuffer> | null, {
    status: reply.status,
    headers: headRecord(reply),
  });
}

/**
 * `reply`'s head for the runtime: its own record, or, when that holds a
 * `Content-Length` to leave out (there is a body), a copy without it. The
 * cached GET's record has none (services/cache/headers.ts), so a hit
 * copies nothing: callgrind, 2.2k fewer instructions per hit, the
 * runtime's own work on the record unchanged (bench/PROFILE.md, thirteenth
 * round; the eleventh round's slow path with the reply's own record was,
 * presumably, that record's `Content-Length` next to a body).
 */
export function headRecord(reply: Reply): Record<string, string> {
  const { headers, body } = reply;
  if (body === null || headers["content-length"] === undefined) return headers;
  const head: Record<string, string> = {};
  for (const name in headers) {
    if (name !== "content-length") head[name] = headers[name]!;
  }
  return head;
}
