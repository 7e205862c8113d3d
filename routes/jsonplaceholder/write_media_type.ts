/**
 * The media types a JSONPlaceholder write's body is taken in, and the one
 * it is sent on in. Taken: `application/json` or a `+json` type
 * (`application/merge-patch+json`, which RFC 7396 names for a `PATCH`),
 * in UTF-8. Sent on: `application/json`, the one type json-server reads
 * (its body-parser takes `application/json` alone and leaves any other
 * body unread): a `PATCH` sent as `application/merge-patch+json` passed
 * its checks here and was answered 200 with the item unchanged, its
 * fields dropped without a word.
 *
 * @module
 */

/** `application/json` or a `+json` type, any parameters. */
export const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * A `charset` other than UTF-8. JSON is UTF-8 (RFC 8259 8.1) and the body
 * is read as such; json-server refused any other with a 415 HTML page
 * holding its stack, which went back to the client as it was.
 */
export const OTHER_CHARSET = /;\s*charset\s*=\s*(?!"?utf-8"?\s*(?:;|$))/i;

// The type and subtype of a `+json` type, before its parameters.
const SUFFIXED = /^application\/[\w.-]+\+json(?=\s*(?:;|$))/i;

/**
 * The `Content-Type` a body taken as `contentType` (one
 * {@linkcode JSON_MEDIA_TYPE} matches) is sent upstream with: the client's
 * own for `application/json`, else `application/json` with the client's
 * parameters (`application/merge-patch+json; charset=utf-8` is
 * `application/json; charset=utf-8`).
 */
export function upstreamContentType(contentType: string): string {
  return contentType.replace(SUFFIXED, "application/json");
}
