/**
 * What a successful call of the upstream client (`client.ts`) resolves:
 * the answer's status, body and the headers the cache keeps.
 *
 * @module
 */

import type { OriginValidators } from "../http/origin_validators.ts";
import type { Pagination } from "../http/pagination.ts";

/**
 * A successful exchange with the upstream: a JSON body, a 404, or (to a
 * conditional request) a 304.
 */
export interface UpstreamResponse {
  /**
   * 200 (or another 2xx) with a JSON body, 404, or 304 when the request
   * carried `validators` and the upstream says they are still current.
   */
  status: number;
  /** The upstream body, byte for byte; validated as JSON when 2xx. */
  body: Uint8Array;
  /** The upstream `Content-Type`. */
  contentType: string;
  /** The upstream's `ETag` and `Last-Modified`, to revalidate with later. */
  validators: OriginValidators;
  /** The upstream's `Cache-Control`, when it sent one. */
  cacheControl?: string;
  /** Its paging headers (`X-Total-Count`, `Link`), when it sent them. */
  pagination?: Pagination;
  /**
   * Its age in ms when it sent an `Age` (it came from a cache on the way,
   * a CDN): that `Age` plus the time its answer took (RFC 9111 4.2.3).
   */
  ageMs?: number;
  /** Attempts made, 1 when the first one succeeded. */
  attempts: number;
  /** Wall time of all attempts and backoff, in milliseconds. */
  durationMs: number;
}
