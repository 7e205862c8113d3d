/**
 * The directives of a `Cache-Control` header (RFC 9111 5.2): a comma list
 * of `name` or `name=value` (a token or a quoted string, which may itself
 * hold commas). Names are case-insensitive.
 *
 * @example Usage
 * ```ts
 * import { cacheDirectives } from "./cache_control.ts";
 *
 * const directives = cacheDirectives('private="set-cookie, x", max-age=5');
 * directives.get("max-age"); // "5"
 * directives.has("private"); // true
 * ```
 *
 * @module
 */

// One directive: a name, then optionally `=` and a token or quoted string.
const DIRECTIVE = /([^\s=,"]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*))?/g;

/**
 * The directives in `header` by lower-case name, each with its value
 * (unquoted) or `""` when it has none. A missing header has none.
 */
export function cacheDirectives(
  header: string | null | undefined,
): Map<string, string> {
  const directives = new Map<string, string>();
  if (!header) return directives;
  for (const [, name, raw = ""] of header.matchAll(DIRECTIVE)) {
    const value = raw.startsWith('"')
      ? raw.slice(1, -1).replaceAll(/\\(.)/g, "$1")
      : raw;
    // The first occurrence wins, as most caches do with duplicates.
    const key = name!.toLowerCase();
    if (!directives.has(key)) directives.set(key, value);
  }
  return directives;
}

/** Whether a `Cache-Control` forbids a shared cache to store the answer. */
export function forbidsStoring(cacheControl: string | undefined): boolean {
  const directives = cacheDirectives(cacheControl);
  return directives.has("no-store") || directives.has("private");
}
