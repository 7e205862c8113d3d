/**
 * The request methods the service knows: those some route may take. Any
 * other (a made-up `FOO`, `TRACE`, or `get`: methods are case-sensitive)
 * is one no resource here supports, so the router answers it 501 (RFC
 * 9110 15.6.2) rather than 405, which says the method is known but not
 * taken by that resource; metrics label it `OTHER`, so junk methods
 * cannot grow their label sets. Also the `Allow` value of a path's
 * methods ({@linkcode allowOf}), which the router sends and
 * `/openapi.json` declares.
 *
 * @module
 */

/** The methods the service knows. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
]);

/**
 * `method` as this module's own string when it is a known method, else
 * `method` itself. The runtime makes a new string for each request's
 * method, whose hash V8 has not computed: the first `Map` or `Set` lookup
 * of it (the router's memo) called into V8's C++ runtime, ~600
 * instructions and ~70 instruction-cache misses per cached hit under
 * callgrind (bench/PROFILE.md, twelfth round). A literal's hash is kept.
 * Compared here by content, which needs no hash.
 */
export function knownMethod(method: string): string {
  switch (method) {
    case "GET":
      return "GET";
    case "HEAD":
      return "HEAD";
    case "POST":
      return "POST";
    case "PUT":
      return "PUT";
    case "DELETE":
      return "DELETE";
    case "PATCH":
      return "PATCH";
    case "OPTIONS":
      return "OPTIONS";
    default:
      return method;
  }
}

/** The `Allow` value for `methods`: with `HEAD` where `GET`, and `OPTIONS`. */
export function allowOf(methods: Iterable<string>): string {
  const all = new Set([...methods].map((method) => method.toUpperCase()));
  if (all.has("GET")) all.add("HEAD");
  all.add("OPTIONS");
  return [...all].sort().join(", ");
}

/**
 * Methods whose routes read no body: the runtime hands `GET` and `HEAD`
 * handlers none at all, and no `DELETE` or `OPTIONS` route reads one. Their
 * body is told from the headers alone: asking for `req.body` changes what
 * the runtime does (a 5,000-byte `DELETE` body sent whole then kept its
 * connection alive, where it otherwise says `Connection: close`).
 */
const BODILESS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "DELETE",
  "OPTIONS",
]);

/** Whether no route of `method` reads a request body (see `BODILESS`). */
export function readsNoBody(method: string): boolean {
  return BODILESS.has(method);
}
