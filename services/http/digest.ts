/**
 * Integrity fields (RFC 9530): the SHA-256 digest a request declares in
 * `Content-Digest` or `Repr-Digest`, and whether it announces one as a
 * trailer, which is never read: `Deno.serve`'s `Request` has no trailers
 * (Deno 2.9.6 drops them, HTTP/1.1 chunked and HTTP/2 alike).
 *
 * @module
 */

import { Buffer } from "node:buffer";

/**
 * The sha-256 member of one field value: its bytes, `undefined` if it has
 * none, or `"malformed"`. The field is a Structured Fields dictionary
 * (RFC 9651 3.2), where a repeated key's last value is the one that
 * counts: the last sha-256 member is taken, as any other reader of the
 * field would, so the checked digest is the one an intermediary checked.
 */
function sha256Member(value: string): Uint8Array | undefined | "malformed" {
  let found: string | undefined;
  for (const member of value.split(",")) {
    // An empty value (or member) declares nothing: generated clients and
    // Swagger UI send `Content-Digest:` when the field is left blank.
    if (member.trim() === "") continue;
    const eq = member.indexOf("=");
    if (eq < 0) return "malformed";
    const key = member.slice(0, eq).trim().toLowerCase();
    if (key === "sha-256") found = member.slice(eq + 1).trim();
  }
  if (found === undefined) return undefined;
  const m = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(found);
  if (!m) return "malformed";
  const bytes = Buffer.from(m[1]!, "base64");
  if (bytes.byteLength !== 32) return "malformed";
  return new Uint8Array(bytes);
}

/**
 * The SHA-256 digest a request declares in `Content-Digest` or
 * `Repr-Digest` (RFC 9530), `undefined` if neither names sha-256 (an
 * empty header names nothing), or `"malformed"`. Of a whole body sent
 * once, both digest the same bytes (coded, when it has a
 * `Content-Encoding`), so two that disagree are `"malformed"` too: one of
 * them is false, and checking only the other would let it pass.
 */
export function declaredSha256(
  headers: Headers,
): Uint8Array | undefined | "malformed" {
  let found: Uint8Array | undefined;
  for (const name of ["content-digest", "repr-digest"]) {
    const value = headers.get(name);
    if (value === null) continue;
    const declared = sha256Member(value);
    if (declared === "malformed") return declared;
    if (declared === undefined) continue;
    if (found && !Buffer.from(found).equals(declared)) return "malformed";
    found = declared;
  }
  return found;
}

/**
 * Whether the request's `Trailer` field (RFC 9110 6.6.2) announces
 * `Content-Digest` or `Repr-Digest` after the body. Such a trailer never
 * reaches the handler (Deno 2.9.6's `Request` has no trailers, and
 * nothing says one was dropped), so the digest would go unchecked while
 * its sender believes it checked: a raw-socket upload with a false
 * digest in the trailer was stored as sent (201). A trailer sent without
 * `Trailer` cannot be seen at all.
 */
export function digestInTrailer(headers: Headers): boolean {
  const announced = headers.get("trailer");
  if (announced === null) return false;
  return announced.split(",").some((name) => {
    const field = name.trim().toLowerCase();
    return field === "content-digest" || field === "repr-digest";
  });
}
