/**
 * A JSON answer built in memory and never to be cached: the probes, the
 * listing of files, the uploads in progress, the purge's result. Its
 * length is said (`Content-Length`), so the access log counts its bytes
 * and `HEAD` can send it.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * `value` as JSON with `Cache-Control: no-store` and its `Content-Length`;
 * `Content-Type` is `application/json; charset=utf-8` unless `init`'s
 * headers name one.
 */
export function noStoreJson(value: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (!headers.has("content-type")) {
    headers.set("content-type", "application/json; charset=utf-8");
  }
  const bytes = encoder.encode(JSON.stringify(value));
  headers.set("cache-control", "no-store");
  headers.set("content-length", String(bytes.byteLength));
  return new Response(bytes, { ...init, headers });
}
