/**
 * Bearer credentials (RFC 6750): checking an `Authorization` header against
 * the configured token in constant time.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * Whether `authorization` carries `token` as a Bearer credential. Both
 * sides are hashed first so the comparison takes the same time whatever
 * the length or content of the guess.
 */
export function bearerMatches(
  authorization: string | null,
  token: string,
): boolean {
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(authorization ?? "");
  const given = match?.[1] ?? "";
  return timingSafeEqual(sha256(given), sha256(token)) && match !== null;
}
