/**
 * CORS, the Fetch standard's HTTP side, for the whole service: a page on
 * another origin (a tutorial app on `localhost:5173`, Swagger UI hosted
 * elsewhere) can read every answer, as it can the real JSONPlaceholder's.
 *
 * Rules (the API has no cookies and no ambient authority, so the wildcard
 * is safe and is what a public API sends):
 * - an answer to a request with `Origin` carries
 *   `Access-Control-Allow-Origin: *`, `Access-Control-Expose-Headers`
 *   ({@linkcode EXPOSED_HEADERS}: the non-safelisted headers a client
 *   reads) and `Timing-Allow-Origin: *` (without it a browser empties the
 *   page's Resource Timing entry, `Server-Timing` included);
 * - every answer says `Vary: Origin`, so a downstream cache (a browser's,
 *   a CDN) never hands a copy stored for a request without `Origin` (no
 *   CORS headers) to a page that needs them. On the hot path (a cached
 *   answer, already `Vary: Accept-Encoding`) that is the same header with
 *   a longer value, no extra header: sending the CORS headers on every
 *   answer instead would be two more headers on every cached GET;
 * - `OPTIONS` is answered for every route ({@linkcode optionsAnswer}):
 *   204 with `Allow`, and for a preflight the allowed methods, the
 *   requested headers and a `Access-Control-Max-Age`.
 *
 * @module
 */

import { problem } from "./problem.ts";
import { varyWith } from "./vary.ts";

/**
 * The response headers a page may read besides the CORS-safelisted ones
 * (`Cache-Control`, `Content-Language`, `Content-Length`, `Content-Type`,
 * `Expires`, `Last-Modified`, `Pragma`): each is one the service sends.
 * `X-Total-Count` and `Link` are JSONPlaceholder's pagination headers.
 */
export const EXPOSED_HEADERS = [
  "ETag",
  "Age",
  "Cache-Status",
  "Server-Timing",
  "X-Request-Id",
  "Location",
  "Content-Location",
  "Content-Disposition",
  "Content-Range",
  "Accept-Ranges",
  "Repr-Digest",
  "Retry-After",
  "Allow",
  "Accept-Post",
  "WWW-Authenticate",
  "X-Total-Count",
  "Link",
].join(", ");

/**
 * The CORS headers of an answer made without its request (the connection
 * layer's last-resort 500 and its 503 over the connection cap): the
 * request's `Origin` is unknown there, so they are those of a request with
 * one, a superset of what one without gets. The wildcard is safe (no
 * cookies), and `Vary: Origin` keeps a cache from reusing the answer.
 */
export const CORS_WITHOUT_REQUEST: Readonly<Record<string, string>> = Object
  .freeze(corsRecordOf("*"));

/**
 * How long a browser may keep a preflight's answer: Chromium's cap (two
 * hours; Firefox keeps up to a day, so this is the most both honour).
 */
export const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/** What an `OPTIONS` answer varies on (the preflight's request headers). */
const OPTIONS_VARY =
  "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

// RFC 9110 5.6.2 token: what a method and a field name are made of.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// Most requested-header lists are a name or two; a longer list than this
// is no browser's (it sends only the non-safelisted names the page set).
const MAX_REQUESTED_HEADERS = 64;

/**
 * `vary` with `Origin` added, or as it is when it says `Origin` or `*`
 * already. The value the compressor leaves on nearly every answer is
 * checked first, without a scan: that is the hot path's whole cost.
 */
export function varyWithOrigin(vary: string | null | undefined): string {
  if (vary === "Accept-Encoding") return "Accept-Encoding, Origin";
  return varyWith(vary, "Origin");
}

/**
 * Adds the CORS rules to a reply's plain header record (names in lower
 * case): `Vary: Origin` always, the three CORS headers when the request had
 * an `Origin` (`origin` not `null`). The one place the rules are written:
 * for the record, the cached GET's form (stores by name, no allocation);
 * {@linkcode corsHeaders} hands a `Response`'s headers through it. (One
 * function taking either form cost a cached GET ~100 ns: the `instanceof
 * Headers` test alone, measured with `deno bench`.)
 */
export function corsRecord(
  headers: Record<string, string>,
  origin: string | null,
): void {
  headers.vary = varyWithOrigin(headers.vary);
  if (origin === null) return;
  headers["access-control-allow-origin"] = "*";
  headers["access-control-expose-headers"] = EXPOSED_HEADERS;
  headers["timing-allow-origin"] = "*";
}

/**
 * {@linkcode corsRecord}'s rules on a `Response`'s (mutable) `Headers`:
 * what it sets on a record of the `Vary` there is set here.
 */
export function corsHeaders(headers: Headers, origin: string | null): void {
  const vary = headers.get("vary");
  const added: Record<string, string> = vary === null ? {} : { vary };
  corsRecord(added, origin);
  for (const name in added) headers.set(name, added[name]!);
}

/** The headers {@linkcode corsRecord} adds for a request from `origin`. */
function corsRecordOf(origin: string): Record<string, string> {
  const headers: Record<string, string> = {};
  corsRecord(headers, origin);
  return headers;
}

/** Whether `req` is a CORS preflight (the Fetch standard's test). */
export function isPreflight(req: Request): boolean {
  return req.method === "OPTIONS" && req.headers.has("origin") &&
    req.headers.has("access-control-request-method");
}

/**
 * The answer to `OPTIONS` on a route whose methods are `allow` (the
 * router's `Allow` value), at `pathname`. Without the preflight's headers:
 * 204 with `Allow` (RFC 9110 9.3.7). A preflight: 204 with the route's
 * methods and the requested headers, even when the requested method is
 * not among them: the browser then refuses with an error naming the
 * method, and a safelisted method (`POST` on a read-only route) goes on to
 * get the route's 405 problem, which the page can read. A malformed
 * method or header name (no browser sends one) is a 400 problem.
 */
export function optionsAnswer(
  req: Request,
  allow: string,
  pathname: string,
): Response {
  const headers = new Headers({ allow, vary: OPTIONS_VARY });
  if (!isPreflight(req)) return new Response(null, { status: 204, headers });
  const method = req.headers.get("access-control-request-method")!;
  const requested = requestedHeaders(
    req.headers.get("access-control-request-headers"),
  );
  if (!TOKEN.test(method) || requested === undefined) {
    return problem(400, {
      detail: requested === undefined
        ? "Access-Control-Request-Headers must be a list of header names"
        : "Access-Control-Request-Method must be a method name",
      instance: pathname,
    }, { headers: { vary: OPTIONS_VARY } });
  }
  headers.set("access-control-allow-methods", allow);
  if (requested !== "") {
    headers.set("access-control-allow-headers", requested);
  }
  headers.set("access-control-max-age", String(PREFLIGHT_MAX_AGE_SECONDS));
  return new Response(null, { status: 204, headers });
}

/**
 * The names of an `Access-Control-Request-Headers` value, lower case and
 * comma-joined (`""` for none), or `undefined` when one is no token or
 * there are more than a browser would send.
 */
export function requestedHeaders(value: string | null): string | undefined {
  if (value === null) return "";
  const names = value.split(",").map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  if (names.length > MAX_REQUESTED_HEADERS) return undefined;
  return names.every((name) => TOKEN.test(name)) ? names.join(", ") : undefined;
}
