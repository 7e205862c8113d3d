/**
 * Entity tags (RFC 9110 8.8.3) in one place: the strong tag of a body and
 * the weak (`If-None-Match`) and strong (`If-Match`) comparisons.
 *
 * @example Usage
 * ```ts
 * import { etagOf, weakMatch } from "./etag.ts";
 *
 * const etag = await etagOf(new TextEncoder().encode("{}"));
 * weakMatch(`W/${etag}`, etag); // true
 * ```
 *
 * @module
 */

/** Computes a strong entity tag from the bytes of a body. */
export async function etagOf(body: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>),
  );
  // 128 bits are plenty to tell versions apart and keep the header short.
  const b64 = btoa(String.fromCharCode(...digest.subarray(0, 16)))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `"${b64}"`;
}

function tagsOf(header: string): string[] {
  return header.split(",").map((tag) => tag.trim()).filter((t) => t !== "");
}

const opaque = (tag: string) => tag.replace(/^W\//, "");

/**
 * Whether an `If-None-Match` value matches `etag`: `*`, or any listed tag
 * by weak comparison (RFC 9110 8.8.3.2: `W/"x"` matches `"x"`).
 */
export function weakMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  const tags = tagsOf(header);
  return tags.includes("*") || tags.some((t) => opaque(t) === opaque(etag));
}

/**
 * Whether an `If-Match` value matches `etag`: `*`, or any listed tag by
 * strong comparison (neither tag weak, same characters).
 */
export function strongMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (etag.startsWith("W/")) return tagsOf(header).includes("*");
  return tagsOf(header).some((t) => t === "*" || t === etag);
}
