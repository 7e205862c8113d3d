/**
 * The path and query of a request's URL, read off the string when it is
 * plain, without building a `URL` (one costs a few microseconds, a sizeable
 * part of a cached GET). A URL is plain when its path and query hold only
 * characters the URL parser keeps as they are and its path has no dot
 * segment; anything else (percent-escapes, dot segments, backslashes,
 * spaces, quotes, ...) is left to `URL`, which normalises it. So is a URL
 * whose host `URL` cannot parse: the runtime builds a request's URL from the
 * `Host` the client sent, unchecked (`Host: a>b` makes `http://a>b/`).
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

// The origin of the last URL found plain. A server sees few (clients send
// its one name as `Host`), so checking one is a prefix comparison, not a
// parse per request.
let knownOrigin = "";

/** Whether `url`'s origin (up to `start`, where its path starts) parses. */
function parsableOrigin(url: string, start: number): boolean {
  if (start === knownOrigin.length && url.startsWith(knownOrigin)) return true;
  const origin = url.slice(0, start);
  // With a host and port URL can read, an http(s) URL always parses: the
  // path and query are escaped, never refused.
  if (!URL.canParse(origin + "/")) return false;
  knownOrigin = origin;
  return true;
}

/**
 * `[pathname, search]` of an absolute http(s) URL as `URL` would give
 * them, or `undefined` when the URL is not plain (then parse it).
 */
export function plainTarget(url: string): [string, string] | undefined {
  const start = pathStart(url);
  if (start < 0) return undefined;
  PLAIN.lastIndex = start;
  if (!PLAIN.test(url) || !parsableOrigin(url, start)) return undefined;
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
export function pathStart(url: string): number {
  const scheme = url.indexOf("://");
  return scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
}

/**
 * The origin (`http://host:port`) of a request URL, which the runtime
 * builds from the `Host` the client sent.
 */
export function originOf(url: string): string {
  const start = pathStart(url);
  return start < 0 ? url : url.slice(0, start);
}
