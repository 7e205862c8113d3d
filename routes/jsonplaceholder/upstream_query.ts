/**
 * The parts of a query that json-server (the upstream) cannot answer as
 * JSON, refused here with a 400 instead of passed on: a `_like` filter
 * that is no regular expression (json-server compiles it with
 * `new RegExp(value, "i")` and answers 500; five such requests opened the
 * circuit breaker for every client), and `callback` (json-server answers
 * JSONP, `text/javascript`, which this JSON API answered 502 and logged as
 * an error). Only queries that miss memory are looked at: a cached answer
 * never came from such a query.
 *
 * @module
 */

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
