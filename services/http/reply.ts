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

/** An answer not yet made into a `Response`. */
export interface Reply {
  /** The HTTP status. */
  status: number;
  /** The header fields, names in lower case. */
  headers: Record<string, string>;
  /** The body, or `null` for none (a 304, or the answer to `HEAD`). */
  body: Uint8Array | null;
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
 * The head goes to the runtime as `[name, value]` pairs: converting a
 * record costs the runtime a property-descriptor lookup per header, about
 * a third more than pairs.
 */
export function responseOf(reply: Reply): Response {
  return new Response(reply.body as Uint8Array<ArrayBuffer> | null, {
    status: reply.status,
    headers: headerPairs(reply),
  });
}

/**
 * `reply`'s head as `[name, value]` pairs, without its `Content-Length`
 * when it has a body (the runtime writes one from the bytes it sends).
 */
export function headerPairs(reply: Reply): [string, string][] {
  const { headers, body } = reply;
  const pairs: [string, string][] = [];
  for (const name in headers) {
    if (body !== null && name === "content-length") continue;
    pairs.push([name, headers[name]!]);
  }
  return pairs;
}
