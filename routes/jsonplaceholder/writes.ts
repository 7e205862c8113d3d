/**
 * The JSONPlaceholder writes, passed through: `POST /<resource>` and
 * `PUT`/`PATCH`/`DELETE /<resource>/:id` for every resource the reads
 * cover, and `POST /<parent>/:id/<child>` for every nested collection. A
 * body is a JSON object of at most `WRITE_MAX_BYTES` (413 past it, told by
 * `Content-Length` before any byte is read, else as soon as the count
 * crosses it), sent as `application/json` in UTF-8 (415 otherwise),
 * well-formed, at most `MAX_JSON_DEPTH` levels deep and of the resource's
 * input schema (`write_schemas.ts`; 400), checked by `write_body.ts`. The upstream's status, body,
 * `Content-Type`, `Location` and `Content-Location` come back as they are
 * (a `Location` into the upstream is made relative, so it leads here), but
 * for an answer the OpenAPI document does not promise (a body that is not
 * a JSON object, a 2xx not of the written item's schema, a 204, 205 or
 * 304, a redirect out of the upstream: `write_refusal.ts`; 502 problem+json
 * after a 2xx or 3xx, the same status as problem+json after a 4xx), and a
 * 5xx (502); nothing of a write is cached, and a successful one (2xx, 3xx)
 * drops what it made stale (`invalidation.ts`) before the answer goes out,
 * its body good or not.
 *
 * @module
 */

import type { ResponseCache } from "../../services/cache/policy.ts";
import { problem } from "../../services/http/problem.ts";
import {
  requestCoding,
  unsupportedCoding,
} from "../../services/http/request_coding.ts";
import {
  hasOtherTransferCoding,
  partialBodyRefused,
  transferCodingNotImplemented,
} from "../../services/http/body_framing.ts";
import type { JsonPlaceholderClient } from "../../services/upstream/client.ts";
import type { UpstreamError } from "../../services/upstream/error.ts";
import { upstreamPath } from "../../services/upstream/upstream_path.ts";
import {
  sendWrite,
  type WriteAnswer,
  type WriteMethod,
} from "../../services/upstream/write.ts";
import type { Handler, Route, RouteContext } from "../router.ts";
import { createdPath, writeRule } from "./invalidation.ts";
import {
  restoredAnswer,
  type SentBody,
  writtenSchemaOf,
} from "./write_schemas.ts";
import { jsonBody } from "./write_body.ts";
import { isValidId, NESTED, type Resource, RESOURCES } from "./resources.ts";
import { badId } from "./cached_read.ts";
import {
  JSON_MEDIA_TYPE,
  OTHER_CHARSET,
  upstreamContentType,
} from "./write_media_type.ts";

/** What the write routes need. */
export interface WriteDeps {
  client: JsonPlaceholderClient;
  cache: ResponseCache;
  /** Largest request body, bytes (`WRITE_MAX_BYTES`). */
  maxBytes: number;
  /**
   * Time for the whole body to arrive, ms (`HEADER_TIMEOUT_MS`: a body of
   * a few KiB should come as fast as a request head); past it 408.
   */
  bodyTimeoutMs: number;
}

/** The header that lists the media types a method takes (none for PUT). */
const ACCEPTS: Partial<Record<WriteMethod, string>> = {
  POST: "accept-post",
  PATCH: "accept-patch",
};

function unsupported(
  method: WriteMethod,
  ctx: RouteContext,
  detail = "The body must be JSON, sent with Content-Type: application/json",
): Response {
  const accept = ACCEPTS[method];
  return problem(415, {
    detail,
    instance: ctx.url.pathname,
  }, accept ? { headers: { [accept]: "application/json" } } : {});
}

/** The answer to the client: the upstream's, `Location`s made relative. */
function answerOf(
  answer: WriteAnswer,
  base: string,
  sent: SentBody | undefined,
): Response {
  const headers = new Headers({ "cache-control": "no-store" });
  const { contentType, location, contentLocation } = answer.headers;
  if (contentType) headers.set("content-type", contentType);
  for (
    const [name, value] of [
      ["location", location],
      ["content-location", contentLocation],
    ] as const
  ) {
    if (value !== undefined) {
      headers.set(name, upstreamPath(value, base) ?? value);
    }
  }
  // A 204, 205 or 304, which may carry no body, is refused before this.
  const body = sent && answer.status < 300
    ? restoredAnswer(answer.body, answer.json, sent.value)
    : answer.body;
  headers.set("content-length", String(body.byteLength));
  return new Response(body as BodyInit, {
    status: answer.status,
    headers,
  });
}

/** The paths a successful answer names, within the upstream. */
function relatedPaths(
  resource: Resource,
  method: WriteMethod,
  answer: WriteAnswer,
  base: string,
): string[] {
  const named = [answer.headers.location, answer.headers.contentLocation]
    .filter((value) => value !== undefined)
    .map((value) => upstreamPath(value, base)?.split("?")[0])
    .filter((path) => path !== undefined);
  const created = method === "POST"
    ? createdPath(resource, answer.json)
    : undefined;
  return created ? [...named, created] : named;
}

/** What one write route writes. */
interface WriteTarget {
  /** The resource written. */
  resource: Resource;
  method: WriteMethod;
  /**
   * For a create under a parent (`POST /posts/:id/comments`): the parent,
   * whose id the path's `:id` is (json-server sets `postId` from it).
   */
  parent?: Resource;
}

function passThrough(deps: WriteDeps, target: WriteTarget): Handler {
  const { resource, method } = target;
  return async (req, ctx) => {
    const pathId = ctx.params.id;
    if (pathId !== undefined && !isValidId(pathId)) return badId(ctx);
    // The item written, when the path names it (not a parent's id).
    const id = target.parent === undefined ? pathId : undefined;
    const contentType = req.headers.get("content-type") ?? "";
    let body: SentBody | undefined;
    if (method !== "DELETE") {
      if (!JSON_MEDIA_TYPE.test(contentType)) return unsupported(method, ctx);
      if (OTHER_CHARSET.test(contentType)) {
        return unsupported(
          method,
          ctx,
          "JSON is UTF-8: the charset, when given, must be utf-8",
        );
      }
      if (hasOtherTransferCoding(req.headers)) {
        return transferCodingNotImplemented(ctx.url.pathname);
      }
      const partial = partialBodyRefused(req.headers, ctx.url.pathname);
      if (partial) return partial;
      // As body-parser, and so json-server: gzip and deflate are decoded.
      const coding = requestCoding(req.headers.get("content-encoding"));
      if (coding === undefined) return unsupportedCoding(ctx.url.pathname);
      const checked = await jsonBody(req, ctx, { ...deps, coding, resource });
      if (checked instanceof Response) return checked;
      body = checked;
    }
    // Not the client's signal: once sent, a write is seen through, so the
    // cache is cleaned even if the client left meanwhile.
    const answer = await sendWrite(deps.client, {
      method,
      pathAndQuery: ctx.url.pathname + ctx.url.search,
      ...(body
        ? { body: body.bytes, contentType: upstreamContentType(contentType) }
        : {}),
      client: ctx.remoteAddress,
      // A delete's answer is any object (JSONPlaceholder: `{}`).
      ...(body ? { written: writtenSchemaOf(resource, body.value) } : {}),
    });
    const base = deps.client.settings.baseUrl;
    if (answer.status < 400) {
      const related = relatedPaths(resource, method, answer, base);
      const dropped = await deps.cache.invalidate(
        writeRule({ resource, ...(id ? { id } : {}), related }),
        "write",
      );
      ctx.log.invalidated = dropped.keys.length;
    }
    ctx.log.upstreamStatus = answer.status;
    return answer.refused
      ? refusedAnswer(answer.refused, ctx)
      : answerOf(answer, base, body);
  };
}

/**
 * The answer to an upstream answer whose body is not passed on: after a
 * 2xx, 502 (the write may well have happened: the client is told what
 * came back, and the cache was cleaned all the same); after a 4xx, its
 * status, which is the upstream's verdict on the write, as problem+json.
 */
function refusedAnswer(refused: UpstreamError, ctx: RouteContext): Response {
  const status = refused.upstreamStatus ?? 502;
  if (status < 400) throw refused;
  return problem(status, {
    detail: `The upstream answered ${status}; its body is not passed on: ` +
      refused.message.replace(/^upstream /, ""),
    instance: ctx.url.pathname,
    upstreamStatus: status,
  });
}

/**
 * The write routes of every resource, and the creates under a parent
 * (`POST /posts/:id/comments`, every nested collection), which
 * json-server takes as a create with the parent's id set.
 */
export function writeRoutes(deps: WriteDeps): Route[] {
  const routes: Route[] = RESOURCES.flatMap((resource) => [
    {
      method: "POST",
      pattern: `/${resource}`,
      handler: passThrough(deps, { resource, method: "POST" }),
    },
    ...(["PUT", "PATCH", "DELETE"] as const).map((method) => ({
      method,
      pattern: `/${resource}/:id`,
      handler: passThrough(deps, { resource, method }),
    })),
  ]);
  for (const [parent, child] of NESTED) {
    routes.push({
      method: "POST",
      pattern: `/${parent}/:id/${child}`,
      handler: passThrough(deps, { resource: child, method: "POST", parent }),
    });
  }
  return routes;
}
