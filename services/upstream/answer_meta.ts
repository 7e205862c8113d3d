/**
 * What a cache keeps of an upstream answer besides its status and body:
 * its type (with the charset its JSON was checked in), its validators,
 * its `Cache-Control`, its paging headers (`Link` targets as paths on this
 * service) and its age. Read by `answer.ts` once an attempt is done.
 *
 * @module
 */

import type { UpstreamResponse } from "./response.ts";
import { originValidatorsOf } from "../http/origin_validators.ts";
import { parseAge } from "../http/age.ts";
import {
  type LinkElement,
  type Pagination,
  parseLink,
  totalCountOf,
} from "../http/pagination.ts";
import { upstreamPath } from "./upstream_path.ts";

// A `charset` parameter, its value quoted or not.
const CHARSET = /;\s*charset\s*=\s*("[^"]*"|[^;\s]*)/i;
const UTF8 = /^"?utf-?8"?$/i;

/**
 * `contentType` naming the charset its body was checked in: JSON is read as
 * UTF-8 (RFC 8259 8.1 allows no other), so a `charset` naming another one
 * (an old framework's ISO-8859-1 over UTF-8 bytes) is replaced; a client
 * honouring it (a browser showing the JSON, XHR's `responseText`) decoded
 * the verified bytes into other text. Without a charset it stays as it is.
 */
export function utf8ContentType(contentType: string): string {
  return contentType.replace(
    CHARSET,
    (match, value: string) => UTF8.test(value) ? match : "; charset=utf-8",
  );
}

/**
 * The paging headers of an answer from the upstream at `base`, its `Link`
 * targets as paths on this service; targets elsewhere are left out (this
 * service does not vouch for them, nor show where its upstream lives).
 */
export function paginationOf(
  headers: Headers,
  base: string,
): Pagination | undefined {
  const totalCount = totalCountOf(headers.get("x-total-count"));
  const link = headers.get("link");
  const links = link === null ? [] : (parseLink(link) ?? []).flatMap(
    ([target, params]): LinkElement[] => {
      const path = upstreamPath(target, base);
      return path === undefined ? [] : [[path, params]];
    },
  );
  if (totalCount === undefined && links.length === 0) return undefined;
  return {
    ...(totalCount === undefined ? {} : { totalCount }),
    ...(links.length === 0 ? {} : { links }),
  };
}

/**
 * What a cache needs of an answer from the upstream at `base` besides
 * status and body: its type, its validators, its `Cache-Control`, its
 * paging headers, and its age when it reported one (`Age`: it came from a
 * cache, a CDN), corrected by `responseDelayMs`, the time from sending the
 * request to its answer (RFC 9111 4.2.3 `corrected_age_value`).
 */
export function metaOf(
  response: Response,
  base: string,
  responseDelayMs: number,
): Pick<
  UpstreamResponse,
  "contentType" | "validators" | "cacheControl" | "pagination" | "ageMs"
> {
  const { headers } = response;
  const cacheControl = headers.get("cache-control");
  const pagination = paginationOf(headers, base);
  const age = parseAge(headers.get("age"));
  return {
    contentType: headers.get("content-type") ?? "",
    validators: originValidatorsOf(headers),
    ...(cacheControl === null ? {} : { cacheControl }),
    ...(pagination === undefined ? {} : { pagination }),
    ...(age === undefined ? {} : { ageMs: age * 1000 + responseDelayMs }),
  };
}
