/**
 * The validators of an upstream answer (RFC 9110 8.8: `ETag` and
 * `Last-Modified`, kept as sent, a weak tag included) and the conditional
 * request that revalidates a stored copy with them (RFC 9111 4.3.1).
 *
 * @example Usage
 * ```ts
 * import { conditionalHeaders, originValidatorsOf } from "./origin_validators.ts";
 *
 * const kept = originValidatorsOf(new Headers({ etag: 'W/"124-x"' }));
 * conditionalHeaders(kept); // { "if-none-match": 'W/"124-x"' }
 * ```
 *
 * @module
 */

/** What an upstream said identifies its answer; either may be missing. */
export interface OriginValidators {
  /** The upstream's `ETag`, verbatim (`W/"..."` or `"..."`). */
  etag?: string;
  /** The upstream's `Last-Modified`, verbatim (an HTTP-date). */
  lastModified?: string;
}

/** The validators in an upstream answer's headers. */
export function originValidatorsOf(headers: Headers): OriginValidators {
  const etag = headers.get("etag")?.trim();
  const lastModified = headers.get("last-modified")?.trim();
  return {
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
  };
}

/** Whether there is anything to revalidate with. */
export function hasValidators(validators: OriginValidators): boolean {
  return validators.etag !== undefined ||
    validators.lastModified !== undefined;
}

/**
 * The request headers that ask the upstream whether a stored answer is
 * still current: `If-None-Match` with its entity tag (a weak one is fine:
 * the comparison for `If-None-Match` is weak, RFC 9110 13.1.2) and
 * `If-Modified-Since` with its date (the upstream ignores it when it
 * evaluates `If-None-Match`, RFC 9110 13.2.2).
 */
export function conditionalHeaders(
  validators: OriginValidators,
): Record<string, string> {
  return {
    ...(validators.etag ? { "if-none-match": validators.etag } : {}),
    ...(validators.lastModified
      ? { "if-modified-since": validators.lastModified }
      : {}),
  };
}
