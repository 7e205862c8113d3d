/**
 * The answer of a connection the server has no room for at the connection
 * cap: a 503 problem with `Retry-After` and `Connection: close`, as bytes
 * for a connection turned away before the runtime serves it
 * (`accept_loop.ts`), and as a `Response` for one served that was turned
 * out to make room before its first request was handled
 * (`connection_set.ts`).
 *
 * @module
 */

import { CORS_WITHOUT_REQUEST } from "../http/cors.ts";
import { NOSNIFF } from "../http/nosniff.ts";
import { problem } from "../http/problem.ts";

const encoder = new TextEncoder();
const DETAIL = "Too many open connections; retry shortly";
const OVER_CAP_BODY = JSON.stringify({
  type: "about:blank",
  title: "Service Unavailable",
  status: 503,
  detail: DETAIL,
});

/**
 * The answer as bytes on the wire. With the CORS headers every answer has
 * (a page reads the 503 and its Retry-After instead of getting a CORS
 * error), and its `nosniff`.
 */
export const OVER_CAP: Uint8Array = encoder.encode(
  "HTTP/1.1 503 Service Unavailable\r\n" +
    "content-type: application/problem+json\r\n" +
    "retry-after: 1\r\nconnection: close\r\n" +
    Object.entries({ ...CORS_WITHOUT_REQUEST, ...NOSNIFF }).map((
      [name, value],
    ) => `${name}: ${value}\r\n`).join("") +
    `content-length: ${encoder.encode(OVER_CAP_BODY).byteLength}\r\n\r\n` +
    OVER_CAP_BODY,
);

/** The answer as a `Response`, for the runtime to send. */
export function overCapAnswer(): Response {
  return problem(503, { detail: DETAIL }, {
    headers: {
      ...CORS_WITHOUT_REQUEST,
      ...NOSNIFF,
      "retry-after": "1",
      connection: "close",
    },
  });
}
