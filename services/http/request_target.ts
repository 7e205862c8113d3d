/**
 * The path and query of a request's URL, read off the string when it is
 * plain, without building a `URL` (one costs a few microseconds, a sizeable
 * part of a cached GET). A URL is plain when its path and query hold only
 * characters the URL parser keeps as they are and its path has no dot
 * segment; anything else (percent-escapes, dot segments, backslashes,
 * spaces, quotes, ...) is left to `URL`, which normalises it.
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
const PLAIN =
  /^(\/[A-Za-z0-9\-._~!$&()*+,;=:@/]*)(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?$/;

/**
 * `[pathname, search]` of an absolute http(s) URL as `URL` would give
 * them, or `undefined` when the URL is not plain (then parse it).
 */
export function plainTarget(url: string): [string, string] | undefined {
  const scheme = url.indexOf("://");
  if (scheme < 0) return undefined;
  const start = url.indexOf("/", scheme + 3);
  if (start < 0) return undefined;
  const found = PLAIN.exec(url.slice(start));
  if (found === null) return undefined;
  const pathname = found[1]!;
  // "/." starts a dot segment ("/./", "/../", or at the end): normalised.
  if (pathname.includes("/.")) return undefined;
  const query = found[2];
  // An empty query ("?" alone) is no query for URL.
  return [pathname, query === undefined || query === "?" ? "" : query];
}
