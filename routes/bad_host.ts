/**
 * A request refused before routing for its target: a `Host` (or
 * absolute-form target) that is not a host and port, or a path with a
 * backslash, which the URL standard reads as `/` and a proxy in front as a
 * plain character (services/http/request_target.ts). Its URL, made on a
 * placeholder host so the answer can name its path as sent, and that
 * answer, a 400.
 *
 * @module
 */

import { problem } from "../services/http/problem.ts";
import { originEnd } from "../services/http/request_target.ts";

/**
 * The path and query of a URL whose host is no host (or whose path has a
 * backslash), on a placeholder host, so the answer (a 400) can still name
 * the path it was asked for. Set as a path and a query, never parsed as a
 * URL: `//a>b/` would be a host of its own, and an invalid one throws. A
 * backslash in the path is escaped: URL would make it `/`, and then dot
 * segments of it (`/posts\..\metrics` named `/metrics`).
 */
export function onPlaceholderHost(href: string): URL {
  const url = new URL("http://invalid.invalid/");
  // "" (none), "/path?query" or "?query" (an absolute-form target).
  const target = href.slice(originEnd(href));
  const mark = target.indexOf("?");
  const path = mark < 0 ? target : target.slice(0, mark);
  url.pathname = path.replaceAll("\\", "%5C");
  if (mark >= 0) url.search = target.slice(mark);
  return url;
}

/** Why a target is refused before routing (see routes/pipeline.ts). */
export type TargetRefusal = "host" | "backslash";

const DETAILS: Record<TargetRefusal, string> = {
  // RFC 9112 3.2; see services/http/request_target.ts.
  host: "The Host header is not a valid host and port",
  // RFC 3986 3.3 has none; RFC 9112 3.2: an invalid target.
  backslash: "The request target's path has a backslash, which no path " +
    "holds: send it percent-encoded (%5C)",
};

/**
 * The answer to a request whose `Host` (or absolute-form target) is not a
 * host and port, or whose path has a backslash: a 400 naming the path.
 */
export function refusedTargetAnswer(
  refusal: TargetRefusal,
  pathname: string,
): Response {
  return problem(400, { detail: DETAILS[refusal], instance: pathname });
}
