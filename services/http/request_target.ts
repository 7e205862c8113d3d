/**
 * The path and query of a request's URL, read off the string when it is
 * plain, without building a `URL` (one costs a few microseconds, a sizeable
 * part of a cached GET). A URL is plain when its path and query hold only
 * characters the URL parser keeps as they are and its path has no dot
 * segment; anything else (percent-escapes, dot segments, backslashes,
 * spaces, quotes, ...) is left to `URL`, which normalises it. So is a URL
 * whose origin is no plain host and port ({@linkcode servedOrigin}): the
 * runtime builds a request's URL from the `Host` the client sent,
 * unchecked (`Host: a>b` makes `http://a>b/`, `Host: a/b` makes
 * `http://a/b/` followed by the path).
 *
 * ```ts ignore
 * plainTarget("http://127.0.0.1:8000/posts/1?_embed=comments");
 * // ["/posts/1", "?_embed=comments"]
 * ```
 *
 * @module
 */

// Path and query characters WHATWG URL parsing leaves unchanged for http(s)
// (no percent-encoding applies to them, no normalisation): unreserved,
// sub-delims but the single quote, ":" and "@", "/" (and "?" in the query).
// Sticky: matched from the path's start in place, without slicing the URL.
const PLAIN =
  /\/[A-Za-z0-9\-._~!$&()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?$/y;

// The origin of the last URL found served. A server sees few (clients send
// its one name as `Host`), so checking one is a prefix comparison, not a
// parse per request.
let knownOrigin = "";

/**
 * Whether `origin` (a request URL up to its path: `scheme://authority`) is
 * an http(s) scheme and a plain host and port, as RFC 9112 3.2 asks of
 * `Host` (`uri-host [ ":" port ]`) and RFC 9110 4.2.4 of an absolute-form
 * target (no userinfo). The runtime puts the client's `Host` (or the
 * authority of an absolute-form target, scheme and all) there unchecked:
 * what URL reads as userinfo (`u:p@a`), a path (`a\b`), a query or a
 * fragment (`a#b`) is no host, nor is what URL cannot parse. (`Host: a/b`
 * and `Host: a?b` make the URL of an absolute-form target on host `a`:
 * {@linkcode servedHost} refuses them.)
 */
export function servedOrigin(origin: string): boolean {
  if (origin === knownOrigin) return true;
  const url = URL.parse(origin + "/");
  const served = url !== null &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.username === "" && url.password === "" && url.pathname === "/" &&
    url.search === "" && url.hash === "";
  if (served) knownOrigin = origin;
  return served;
}

// The last `Host` found served, as knownOrigin: one string comparison per
// request.
let knownHost = "";

/**
 * Whether a request's `Host` (`null` when it has none) is a host and port
 * (RFC 9112 3.2), or empty (the runtime then uses the listen address).
 * Checked apart from the URL, because the runtime pastes `Host` before the
 * target unchecked: `Host: a/b` (or `a?b`) with `GET /p` makes
 * `http://a/b/p`, the URL of the absolute-form target `http://a/b/p` on
 * host `a`, whose origin {@linkcode servedOrigin} takes. A server answers
 * 400 to a `Host` with an invalid value whatever the target's form (RFC
 * 9112 3.2), as nginx does. A missing `Host` is served: RFC 9112 3.2 asks
 * a 400 of an HTTP/1.1 request without one, but Deno 2.9 hands the handler
 * the same for it (no `host`, a URL on `localhost:<port>`) as for an
 * HTTP/1.0 request without one (allowed: HAProxy's default health check)
 * and an HTTP/2 request to `localhost:<port>` (`:authority` is no header
 * there), and shows no HTTP version.
 */
export function servedHost(host: string | null): boolean {
  if (host === null || host === knownHost || host === "") return true;
  // What URL would read as userinfo, a path, a query or a fragment ("a?"
  // too, which it drops), then a host and port it can parse.
  const served = !/[@/\\?#]/.test(host) && URL.canParse(`http://${host}/`);
  if (served) knownHost = host;
  return served;
}

/**
 * Whether a request URL (`req.url`: the target as the client sent it, on
 * its `Host`) has a backslash before its query. The URL standard reads one
 * as `/` in an http(s) path, where nginx (and other proxies) read a plain
 * character: `/posts\..\metrics` is `/metrics` to the one and a path under
 * `/posts` to the other, so a location rule in front matched one path and
 * the service served another. No path holds a backslash (RFC 3986 3.3):
 * such a target is invalid (RFC 9112 3.2). URL keeps one in the query as
 * sent, as proxies do. Only URLs that are not plain need asking.
 */
export function backslashInPath(url: string): boolean {
  const at = url.indexOf("\\");
  if (at < 0) return false;
  const mark = url.indexOf("?");
  return mark < 0 || at < mark;
}

/** {@linkcode servedOrigin} of `url` up to `start`, where its path starts. */
function servedOriginOf(url: string, start: number): boolean {
  if (start === knownOrigin.length && url.startsWith(knownOrigin)) return true;
  return servedOrigin(url.slice(0, start));
}

// The last URL found plain, and its path and query: clients ask the same
// URLs again and again, and one string comparison then stands for the scan
// and the slices. The parts are then the same strings as the last time,
// whose hashes the route memo's and the cache's `Map` lookups have already
// computed (a new slice is hashed again at each).
let lastPlainUrl = "";
let lastPlainParts: readonly [string, string] = ["", ""];

/**
 * `[pathname, search]` of an absolute http(s) URL as `URL` would give
 * them, or `undefined` when the URL is not plain (then parse it, and check
 * its origin with {@linkcode servedOrigin}).
 */
export function plainTarget(
  url: string,
): readonly [string, string] | undefined {
  if (url === lastPlainUrl) return lastPlainParts;
  const parts = scannedTarget(url);
  if (parts !== undefined) {
    lastPlainUrl = url;
    lastPlainParts = parts;
  }
  return parts;
}

/** {@linkcode plainTarget}, worked out. */
function scannedTarget(url: string): readonly [string, string] | undefined {
  const start = pathStart(url);
  if (start < 0) return undefined;
  PLAIN.lastIndex = start;
  if (!PLAIN.test(url) || !servedOriginOf(url, start)) return undefined;
  const mark = url.indexOf("?", start);
  const pathname = mark < 0 ? url.slice(start) : url.slice(start, mark);
  // "/." starts a dot segment ("/./", "/../", or at the end): normalised.
  if (pathname.includes("/.")) return undefined;
  // An empty query ("?" alone) is no query for URL.
  return [pathname, mark < 0 || mark === url.length - 1 ? "" : url.slice(mark)];
}

/**
 * Where the path of an absolute URL string starts (the first `/` after
 * `scheme://`), or -1 when it has none.
 */
function pathStart(url: string): number {
  const scheme = url.indexOf("://");
  return scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
}

/**
 * Where the origin (`scheme://authority`) of an absolute URL string ends:
 * at its path or, without one before it, its query (an absolute-form
 * target `http://h?x=1` has no path), else at its end.
 */
export function originEnd(url: string): number {
  const scheme = url.indexOf("://");
  if (scheme < 0) return url.length;
  const start = url.indexOf("/", scheme + 3);
  const mark = url.indexOf("?", scheme + 3);
  if (mark >= 0 && (start < 0 || mark < start)) return mark;
  return start < 0 ? url.length : start;
}

/**
 * The origin (`http://host:port`) of a request URL, which the runtime
 * builds from the `Host` the client sent (or an absolute-form target).
 */
export function originOf(url: string): string {
  return url.slice(0, originEnd(url));
}

// A percent-escape whose octet is an unreserved character (RFC 3986 2.3:
// ALPHA, DIGIT, "-", ".", "_", "~"), either hex case.
const UNRESERVED_ESCAPE =
  /%(?:3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa]|2[DdEe]|5[Ff]|7[Ee])/g;

/**
 * `path` with its escapes of unreserved characters decoded: RFC 3986
 * 6.2.2.2 makes `/posts/%31` the same as `/posts/1`, which a route must
 * match. Only those: `%2F` stays an escape, never a path separator, and
 * any other escape stays as sent. `URL` has already dealt with `%2e` dot
 * segments. Plain paths ({@linkcode plainTarget}) have no escape to decode.
 */
export function unreservedDecoded(path: string): string {
  if (!path.includes("%")) return path;
  return path.replace(
    UNRESERVED_ESCAPE,
    (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)),
  );
}
