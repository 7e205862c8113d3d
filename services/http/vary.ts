/**
 * `Vary` (RFC 9110 12.5.5) with a field name added: what compression
 * (`Accept-Encoding`) and CORS (`Origin`) both do to an answer's head.
 *
 * @example Usage
 * ```ts
 * import { varyWith } from "./vary.ts";
 *
 * varyWith(null, "Origin"); // "Origin"
 * varyWith("Accept-Encoding", "Origin"); // "Accept-Encoding, Origin"
 * varyWith("*", "Origin"); // "*"
 * ```
 *
 * @module
 */

// Per field name: whether a Vary value lists it (or `*`), matched once.
const LISTED = new Map<string, RegExp>();

function listedPattern(name: string): RegExp {
  let pattern = LISTED.get(name);
  if (pattern === undefined) {
    const escaped = name.replace(/[^A-Za-z0-9]/g, "\\$&");
    pattern = new RegExp(`(?:^|,)\\s*(?:${escaped}|\\*)\\s*(?:,|$)`, "i");
    LISTED.set(name, pattern);
  }
  return pattern;
}

/**
 * `vary` with the field `name` added, or as it is when it lists `name`
 * or `*` already (compared without regard to case).
 */
export function varyWith(
  vary: string | null | undefined,
  name: string,
): string {
  if (vary === null || vary === undefined || vary === "") return name;
  return listedPattern(name).test(vary) ? vary : `${vary}, ${name}`;
}
