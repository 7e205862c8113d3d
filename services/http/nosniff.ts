/**
 * `X-Content-Type-Options: nosniff`, the one header every answer but the
 * JSONPlaceholder reads from the cache carries (routes/finish.ts sets it on
 * the app's; the connection layer's over-cap 503 and last-resort 500 spread
 * it): a browser then takes a body as the type sent, never as HTML or
 * script sniffed out of it.
 *
 * @module
 */

const NAME = "x-content-type-options";
const VALUE = "nosniff";

/** The header, as a record to spread into an answer's headers. */
export const NOSNIFF: Readonly<Record<string, string>> = Object.freeze({
  [NAME]: VALUE,
});

/** Sets the header on `headers` (an answer made elsewhere). */
export function setNosniff(headers: Headers): void {
  headers.set(NAME, VALUE);
}
