/**
 * A served request's headers, read without making its `Headers` object.
 *
 * In Deno 2.9.6, once a handler has read `req.headers`, the runtime does not
 * answer its `Response` at once: it copies the whole request header list
 * into JavaScript (`cacheRequestHeaders`) and sends the answer through two
 * promise reactions (`finishOrReturnMaybePromise`), where an answer to a
 * request whose headers were never read goes straight back. Each
 * `Headers.get` of a served request is a call of the request's own
 * `header(name)` (`op_http_get_request_header`) anyway; this view makes
 * the same call without the `Headers`, so a memory hit keeps the
 * runtime's direct way. The request's internal is found behind a feature
 * check; without it (another runtime, a `Request` made here, not served),
 * the view reads `req.headers` as before. As the peer's address, it is
 * read before the answer goes out: the runtime closes its request then
 * ("Request closed"), and no copy was made (routes/access_log.ts reads
 * the client at the answer's head for this reason).
 *
 * @module
 */

/** What a served request keeps its runtime-side request under. */
const INNER = Object.getOwnPropertySymbols(new Request("http://localhost/"))
  .find((key) => key.description === "request");

interface InnerRequest {
  header(name: string): string | null;
}

/** The runtime-side request of `req`, when it is a served one. */
function innerOf(req: Request): InnerRequest | undefined {
  if (INNER === undefined) return undefined;
  const inner = (req as unknown as Record<symbol, unknown>)[INNER] as
    | Partial<InnerRequest>
    | undefined;
  return typeof inner?.header === "function"
    ? inner as InnerRequest
    : undefined;
}

/**
 * `get` and `has` by the runtime's per-name read (lower-case names, as
 * every caller passes); anything else from `req.headers`, which is then
 * made.
 */
class ServedHeaders implements Headers {
  readonly #req: Request;
  readonly #inner: InnerRequest;

  constructor(req: Request, inner: InnerRequest) {
    this.#req = req;
    this.#inner = inner;
  }

  get(name: string): string | null {
    return this.#inner.header(name);
  }

  has(name: string): boolean {
    return this.#inner.header(name) !== null;
  }

  append(name: string, value: string): void {
    this.#req.headers.append(name, value);
  }

  delete(name: string): void {
    this.#req.headers.delete(name);
  }

  set(name: string, value: string): void {
    this.#req.headers.set(name, value);
  }

  getSetCookie(): string[] {
    return this.#req.headers.getSetCookie();
  }

  forEach(
    callback: (value: string, key: string, parent: this) => void,
    thisArg?: unknown,
  ): void {
    this.#req.headers.forEach((value, key) =>
      callback.call(thisArg, value, key, this)
    );
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#req.headers.entries();
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#req.headers.keys();
  }

  values(): ReturnType<Headers["values"]> {
    return this.#req.headers.values();
  }

  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.#req.headers[Symbol.iterator]();
  }
}

/**
 * The headers of `req`: a view reading them one name at a time when `req`
 * was served by the runtime, else `req.headers` itself.
 */
export function servedHeaders(req: Request): Headers {
  const inner = innerOf(req);
  return inner === undefined ? req.headers : new ServedHeaders(req, inner);
}
