/**
 * The parts of a query that json-server (the upstream) cannot answer as
 * JSON, refused here with a 400 instead of passed on: a `_like` filter
 * that is no regular expression (json-server compiles it with
 * `new RegExp(value, "i")` and answers 500; five such requests opened the
 * circuit breaker for every client), and `callback` (json-server answers
 * JSONP, `text/javascript`, which this JSON API answered 502 and logged as
 * an error). And a path with its query longer than
 * {@linkcode MAX_UPSTREAM_TARGET}: the upstream refuses a long request head
 * (json-server under Node: 431 past 16 KiB), a 502 logged as an error here,
 * so it is 414 at once. Only queries that miss memory are looked at: a
 * cached answer never came from such a query.
 *
 * @module
 */

/**
 * Longest path and query sent to the upstream, in characters: the request
 * line every HTTP peer is to take (RFC 9112 3: 8,000 octets), less room for
 * the method, the upstream's base path and the version.
 */
export const MAX_UPSTREAM_TARGET = 7_680;

/**
 * Whether json-server reads the parameter `name` as a `_like` filter. Its
 * own test, in its order: a name with `_lte`, `_gte` or `_ne` anywhere is
 * a range or inequality filter, else one with `_like` anywhere is a
 * regular expression.
 */
function isLikeFilter(name: string): boolean {
  return name.includes("_like") && !name.includes("_lte") &&
    !name.includes("_gte") && !name.includes("_ne");
}

/**
 * Why the upstream cannot take `query`, as a sentence for a 400, or
 * `undefined` when it can.
 */
export function upstreamQueryProblem(
  query: URLSearchParams,
): string | undefined {
  for (const [name, value] of query) {
    if (name === "callback") {
      return "callback (JSONP) is not served: the answers are JSON, " +
        "readable cross-origin (CORS)";
    }
    if (!isLikeFilter(name)) continue;
    try {
      new RegExp(value, "i");
    } catch (error) {
      return `${name} must be a regular expression, got ${
        JSON.stringify(value)
      } (${(error as Error).message})`;
    }
  }
  return undefined;
}
