/**
 * Whether a request came over HTTP/2. The runtime gives the handler no
 * protocol version: an HTTP/2 request has no `Host` header (its authority
 * is the `:authority` pseudo-header), and an HTTP/1.1 request must have
 * one (RFC 9112 3.2). An HTTP/1.0 request without `Host` counts as HTTP/2
 * here. What differs for the server: an HTTP/2 connection carries other
 * streams, so nothing done about one request may close it
 * (services/server/answer_close.ts), and the runtime itself resets a
 * stream whose body is left unread once its answer is out (RST_STREAM
 * NO_ERROR at once, seen with Node's http2 client).
 *
 * @module
 */

/** Whether the request with `headers` came over HTTP/2 (see the module doc). */
export function cameOverHttp2(headers: Headers): boolean {
  return !headers.has("host");
}
