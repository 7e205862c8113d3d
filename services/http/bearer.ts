/**
 * Bearer credentials (RFC 6750): checking an `Authorization` header against
 * the configured token in constant time, and the 401 answer with its
 * challenge.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { problem } from "./problem.ts";

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

/**
 * `undefined` when `authorization` carries `token`, else the 401 problem
 * answer with its `WWW-Authenticate` challenge (`invalid_token` when a
 * credential was given).
 */
export function bearerChallenge(
  authorization: string | null,
  token: string,
  instance: string,
): Response | undefined {
  if (bearerMatches(authorization, token)) return undefined;
  const given = authorization !== null;
  return problem(401, {
    detail: given
      ? "The bearer token is not valid"
      : "This operation needs Authorization: Bearer <token>",
    instance,
  }, {
    headers: {
      "www-authenticate": given
        ? 'Bearer realm="async-api", error="invalid_token"'
        : 'Bearer realm="async-api"',
    },
  });
}
