/**
 * How the compressed copy of an answer differs from it, for the compressor
 * of `compression.ts`: its coding, its `ETag` (weak: the compressed bytes
 * are another byte sequence of the same representation) and the key its
 * bytes are kept by, when the answer's `ETag` describes its own body (a
 * 200 to GET or HEAD). The answer's head is read in either form it is
 * held in, a `Response`'s `Headers` or a `Reply`'s record. An answer
 * whose strong tag a request's `If-Match` named is sent uncoded.
 *
 * @module
 */

import type { Coding } from "./encoders.ts";

/**
 * An answer's head, in whichever form it is held: a `Response`'s `Headers`,
 * or a `Reply`'s plain record (names in lower case).
 */
export type Head = Headers | Readonly<Record<string, string>>;

/**
 * Header `name` of `head`. A function over both forms rather than a
 * closure made per answer: the hot path allocates nothing for it.
 */
function headerOf(head: Head, name: string): string | null {
  return head instanceof Headers ? head.get(name) : head[name] ?? null;
}

/**
 * What the compressor reads of the request: a `Request`, or the
 * pipeline's request context, which holds both read once (each read of a
 * `Request`'s getters is a checked call into the runtime).
 */
export type CompressedRequest = Pick<Request, "method" | "headers">;

/** How a compressed copy of a response differs from it. */
export interface Variant {
  coding: Coding;
  /** The copy's `ETag`, when the original's describes its body. */
  etag?: string;
  /** Where the compressed bytes are kept, when they can be reused. */
  key?: string;
}

/**
 * Whether an answer's `ETag` describes its own body: a 200 to GET or HEAD.
 * Elsewhere (a 201 after an upload) it names another resource: left as it
 * is, and never a key for compressed bytes.
 */
function tagsOwnBody(req: CompressedRequest, status: number): boolean {
  return status === 200 && (req.method === "GET" || req.method === "HEAD");
}

/**
 * The weak form of an answer's `ETag` when the tag describes the answer's
 * own body (or the 200 a 304 stands for) and is strong, else `undefined`.
 */
export function weakTagOf(
  req: CompressedRequest,
  status: number,
  head: Head,
): string | undefined {
  const etag = headerOf(head, "etag");
  if (etag === null || etag.startsWith("W/")) return undefined;
  return status === 304 || tagsOwnBody(req, status) ? `W/${etag}` : undefined;
}

/**
 * Whether an answer goes out as it is, uncoded under its strong `ETag`,
 * though the client takes br or gzip: the request's `If-Match` names a tag
 * (not `*` alone) and the answer's tag is one {@linkcode weakTagOf} would
 * weaken, so the route checked `If-Match` against it and it matched.
 * `If-Match` compares strongly with the tag of the representation sent
 * (RFC 9110 13.1.1); a coded copy's tag is weak and matches nothing, so
 * the representation the condition held for, the identity bytes, is the
 * one sent (identity is always acceptable, RFC 9110 12.5.3). Before, such
 * a request got gzip bytes under `W/"x"` for `If-Match: "x"`: a 200 for a
 * representation whose tag did not match.
 */
export function pinnedByIfMatch(
  req: CompressedRequest,
  status: number,
  head: Head,
): boolean {
  const ifMatch = req.headers.get("if-match");
  if (ifMatch === null || ifMatch.trim() === "*") return false;
  return weakTagOf(req, status, head) !== undefined;
}

/** How to encode a body of `length` bytes (`null`: unknown) in `coding`. */
export function variantOf(
  req: CompressedRequest,
  status: number,
  head: Head,
  coding: Coding,
  length: string | null,
): Variant {
  const etag = headerOf(head, "etag");
  // Only the compressed bytes of a body its ETag describes are kept by it.
  if (etag === null || !tagsOwnBody(req, status)) return { coding };
  return {
    coding,
    etag: etag.startsWith("W/") ? etag : `W/${etag}`,
    key: `${coding} ${length ?? ""} ${etag}`,
  };
}
