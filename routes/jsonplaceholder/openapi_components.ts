/**
 * The headers and responses of the OpenAPI document that the
 * JSONPlaceholder reads' operations (`openapi.ts`) refer to by name: the
 * paging and RFC 9211 cache headers, and the refusals and upstream
 * failures a read answers with.
 *
 * @module
 */

import type {
  HeaderObject,
  ResponseObject,
} from "../../services/ops/openapi.ts";
import {
  preconditionFailedResponse,
  problemResponse,
  retryLater,
} from "../../services/ops/openapi_parts.ts";

/** The headers of the reads' answers, by component name. */
export const READ_HEADERS: Record<string, HeaderObject> = {
  XTotalCount: {
    description: "How many items the list has before paging, when the " +
      "query pages it (`_page`, `_limit`, `_start`/`_end`), as the " +
      "upstream counted them.",
    schema: { type: "integer", minimum: 0 },
  },
  PageLinks: {
    description: "RFC 8288 links to the `first`, `prev`, `next` and " +
      "`last` pages of a list paged with `_page`, absolute on the origin " +
      "the request named (its `Host`; its scheme `https` behind a proxy " +
      "that ends TLS, when `TRUST_FORWARDED_PROTO` names the header the " +
      "proxy sets).",
    schema: { type: "string" },
  },
  Age: {
    description: "Seconds the answer has spent in this cache since it " +
      "was fetched from the upstream or last confirmed current by it, " +
      "plus the `Age` the upstream sent with it (a CDN's copy), rounded " +
      "up (for a summary: its oldest part). Absent when the upstream forbade " +
      "storing the answer (`no-store`, `private`).",
    schema: { type: "integer", minimum: 0 },
  },
  XAccelExpires: {
    description: "For nginx's `proxy_cache`, which reads `max-age` and " +
      "not `Age`: the seconds the answer stays fresh here (`max-age` " +
      "less `Age`), so nginx keeps it no longer. Sent with " +
      "`NGINX_ACCEL_EXPIRES` when `Age` and `max-age` are above 0; nginx " +
      "keeps it to itself.",
    schema: { type: "integer", minimum: 0 },
  },
  CacheStatus: {
    description: "RFC 9211, e.g. `async-api; hit; ttl=42`, " +
      "`async-api; fwd=miss; stored`, " +
      "`async-api; fwd=stale; fwd-status=304; stored` (renewed by the " +
      "upstream's 304) or `async-api; fwd=miss; stored=?0` (the upstream " +
      "said `no-store` or `private`, or the cache did not keep the answer: " +
      "larger than `CACHE_MAX_BYTES` and, with Redis, refused there too; " +
      "or a write dropped its key while it loaded).",
    schema: { type: "string" },
  },
};

/** The reads' shared answers, by component name. */
export const READ_RESPONSES: Record<string, ResponseObject> = {
  InvalidId: problemResponse("The id is not a positive integer."),
  InvalidIdOrQuery: problemResponse(
    "The id is not a positive integer, or the query is refused as " +
      "`InvalidQuery` says (a parameter outside its schema or refused " +
      "by name, a `_like` that is no regular expression, `callback`, " +
      "`q` or `_expand` in a shape the upstream cannot read).",
  ),
  PreconditionFailed: preconditionFailedResponse(
    "`If-Match` names another version (a strong `ETag` of the answer " +
      "without `Content-Encoding`, or `*`).",
  ),
  InvalidQuery: problemResponse(
    "A query parameter is outside its declared schema (type, minimum, " +
      "maximum, enum) or refused by name (see the operation), a `_like` value is no regular expression, the " +
      "query asks for JSONP (`callback`), or `q` or `_expand` comes in a " +
      "shape the upstream cannot read (a list or an object).",
  ),
  TargetTooLong: problemResponse(
    "The path and query (made canonical) are longer than 7,680 " +
      "characters, more than the upstream is sure to take.",
  ),
  BadGateway: retryLater(
    "The upstream failed (connection, 5xx, malformed, undecodable (a " +
      "corrupt gzip) or oversized body) " +
      "and no stale answer could stand in.",
  ),
  UpstreamBusy: retryLater(
    "The upstream call was shed and no stale answer could stand in: " +
      "this client address holds its `UPSTREAM_CLIENT_SHARE_PERCENT` of " +
      "the slots and queue already, `UPSTREAM_QUEUE_LIMIT` requests wait " +
      "for a slot already, none came free within `UPSTREAM_TIMEOUT_MS`, " +
      "the circuit breaker is open after `UPSTREAM_BREAKER_THRESHOLD` " +
      "consecutive upstream failures, or no file descriptor was free " +
      "for a connection to the upstream.",
  ),
  GatewayTimeout: problemResponse(
    "The upstream did not answer within `UPSTREAM_TIMEOUT_MS` (the wait " +
      "for a slot, every attempt and the backoff between them).",
  ),
};
