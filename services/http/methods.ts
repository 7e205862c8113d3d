/**
 * The request methods the service knows: those some route may take. Any
 * other (a made-up `FOO`, `TRACE`, or `get`: methods are case-sensitive)
 * is one no resource here supports, so the router answers it 501 (RFC
 * 9110 15.6.2) rather than 405, which says the method is known but not
 * taken by that resource; metrics label it `OTHER`, so junk methods
 * cannot grow their label sets.
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
