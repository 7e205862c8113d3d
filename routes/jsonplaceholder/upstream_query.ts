/**
 * The parts of a query that json-server (the upstream) cannot answer as
 * JSON, refused here with a 400 instead of passed on: a `_like` filter that
 * is no regular expression (json-server compiles it with
 * `new RegExp(value, "i")` and answers 500; five such requests opened the
 * circuit breaker for every client), and `callback` (json-server answers JSONP,
 * `text/javascript`, which this JSON API answered 502 and logged as an
 * error); and a `_like` that could take the upstream exponential time
 * ({@linkcode backtracksBadly}: `?title_like=(.*)*x` held json-server's one
 * thread, so every other request to it waited, past our timeout, until the
 * breaker opened) or time polynomial in a field's length (repetitions in a
 * row: `/photos?title_like=.*.*.*!` held it 7.6 s, and other clients' reads
 * answered 504); and `q` or `_expand` given in a shape json-server cannot
 * read (`q=a&q=b`, `q[]=a`, `_expand[a]=user`: a list or an object where it
 * calls a string method, a 500). And a path with its query longer than
 * {@linkcode MAX_UPSTREAM_TARGET}: the upstream refuses a long request head
 * (json-server under Node: 431 past 16 KiB), a 502 logged as an error here,
 * so it is 414 at once. Only queries that miss memory are looked at: a
 * cached answer never came from such a query.
 *
 * @module
 */

import { backtracksBadly } from "./backtracking.ts";

export { backtracksBadly } from "./backtracking.ts";

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
 * The name Express's query parser (`qs`) files a parameter under:
 * brackets make a list or an object of it (`q[]` and `q[a]` are `q`), and
 * a name opening with a bracket group is that group's content (`[q]`).
 */
export function parsedName(name: string): string {
  const open = name.indexOf("[");
  if (open !== 0) return open < 0 ? name : name.slice(0, open);
  let depth = 0;
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "[") depth++;
    else if (name[i] === "]" && --depth === 0) return name.slice(1, i);
  }
  return name;
}

/**
 * The parameters json-server uses as text and fails on (500) when `qs`
 * made a list or an object of them: `q` (`q.toLowerCase()`), and each
 * name `_expand` holds (`pluralize(name)`), which may be a list of texts;
 * `parsed` is `name` as `qs` files it ({@linkcode parsedName}).
 */
function shapeProblem(
  name: string,
  parsed: string,
  count: number,
): string | undefined {
  if (parsed === "q" && (name !== "q" || count > 1)) {
    return "q (full-text search) is one text: given more than once, or " +
      `with brackets (${JSON.stringify(name)}), it is a list or an object`;
  }
  if (parsed === "_expand" && name !== "_expand" && name !== "_expand[]") {
    return "_expand names parents, as _expand=user or _expand[]=user: " +
      `${JSON.stringify(name)} makes an object of it`;
  }
  return undefined;
}

/**
 * Why the upstream cannot take `query`, as a sentence for a 400, or
 * `undefined` when it can.
 */
export function upstreamQueryProblem(
  query: URLSearchParams,
): string | undefined {
  let searches = 0;
  for (const [name, value] of query) {
    const parsed = parsedName(name);
    if (parsed === "q") searches++;
    const shape = shapeProblem(name, parsed, searches);
    if (shape !== undefined) return shape;
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
    if (backtracksBadly(value)) {
      return `${name} could take the upstream exponential or polynomial time: ` +
        "a group repeated without bound that itself repeats or alternates, a " +
        "back-reference, or repetitions in a row that can take the same " +
        `characters, in ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}
