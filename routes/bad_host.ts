/**
 * A request whose `Host` (or absolute-form target) is not a host and port:
 * its URL, made on a placeholder host so the answer can name its path, and
 * that answer, a 400.
 *
 * @module
 */

import { problem } from "../services/http/problem.ts";
import { originEnd } from "../services/http/request_target.ts";

/**
 * The path and query of a URL whose host is no host, on a placeholder
 * host, so the answer (a 400) can still name the path it was asked for.
 * Set as a path and a query, never parsed as a URL: `//a>b/` would be a
 * host of its own, and an invalid one throws.
 */
export function onPlaceholderHost(href: string): URL {
  const url = new URL("http://invalid.invalid/");
  // "" (none), "/path?query" or "?query" (an absolute-form target).
  const target = href.slice(originEnd(href));
  const mark = target.indexOf("?");
  url.pathname = mark < 0 ? target : target.slice(0, mark);
  if (mark >= 0) url.search = target.slice(mark);
  return url;
}

/**
 * The answer to a request whose `Host` (or absolute-form target) is not a
 * host and port (RFC 9112 3.2; see services/http/request_target.ts).
 */
export function badHostAnswer(pathname: string): Response {
  return problem(400, {
    detail: "The Host header is not a valid host and port",
    instance: pathname,
  });
}
