/**
 * The JSONPlaceholder writes, passed through: `POST /<resource>` and
 * `PUT`/`PATCH`/`DELETE /<resource>/:id` for every resource the reads
 * cover, and `POST /<parent>/:id/<child>` for every nested collection. A
 * body is a JSON object of at most `WRITE_MAX_BYTES` (413 past it, told by
 * `Content-Length` before any byte is read, else as soon as the count
 * crosses it), sent as `application/json` in UTF-8 (415 otherwise),
 * well-formed, at most `MAX_JSON_DEPTH` levels deep and of the resource's
 * input schema (`write_schemas.ts`; 400). The upstream's status, body,
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
import { jsonDepth } from "../../services/http/json_depth.ts";
import { BodyTooLargeError, readBody } from "../../services/http/read_body.ts";
import { FramesTooSmallError } from "../../services/http/frame_floor.ts";
import { contentLengthOf } from "../../services/http/content_length.ts";
import {
  floodAnswer,
  TrailerFloodError,
  watchWholeBody,
} from "../../services/http/trailer_flood.ts";
import {
  BodyReadStopped,
  readingBody,
  SLOW_BODY_RECLAIM_MS,
} from "../../services/http/slow_bodies.ts";
import {
  decodedBody,
  type RequestCoding,
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
  inputRefusal,
  restoredAnswer,
  type SentBody,
  writtenSchemaOf,
} from "./write_schemas.ts";
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

/**
 * Deepest nesting of a body passed on. json-server serialises its answer
 * recursively and fails past about 5,000 levels (a 500 with its stack,
 * and five of them opened the circuit breaker for every client); a post
 * or a user is 3 deep.
 */
export const MAX_JSON_DEPTH = 64;

const decoder = new TextDecoder("utf-8", { fatal: true });

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

function tooLarge(error: BodyTooLargeError, ctx: RouteContext): Response {
  return problem(413, {
    detail: error.declaredBytes === undefined
      ? `The body exceeds the limit of ${error.maxBytes} bytes`
      : `The body of ${error.declaredBytes} bytes exceeds the limit of ${error.maxBytes} bytes`,
    instance: ctx.url.pathname,
    maxBytes: error.maxBytes,
    // The rest of the body is not read: the connection goes.
  }, { headers: { connection: "close" } });
}

/** A coded body of tiny frames arriving faster than read (400, as an upload's). */
function framesTooSmall(
  error: FramesTooSmallError,
  ctx: RouteContext,
): Response {
  return problem(400, {
    title: "Chunks too small",
    detail: error.message,
    instance: ctx.url.pathname,
    minFrameBytes: error.minFrameBytes,
    // The rest of the body is not read: the connection goes.
  }, { headers: { connection: "close" } });
}

function bodyTimeout(detail: string, ctx: RouteContext): Response {
  return problem(408, {
    detail,
    instance: ctx.url.pathname,
  }, { headers: { connection: "close" } });
}

/** Why a body was given up on: its timeout, or the server out of room. */
function slowDetail(slow: { signal: AbortSignal }, timeoutMs: number): string {
  return slow.signal.aborted
    ? `The body was still arriving after ${SLOW_BODY_RECLAIM_MS} ms ` +
      "while the server was out of connections"
    : `The body did not arrive whole within ${timeoutMs} ms`;
}

/** A body still arriving when the service stopped: nothing was sent on. */
function stopped(ctx: RouteContext): Response {
  return problem(503, {
    detail: "The service is shutting down; the write was not carried out",
    instance: ctx.url.pathname,
  }, { headers: { "retry-after": "1", connection: "close" } });
}

function invalidJson(detail: string, ctx: RouteContext): Response {
  return problem(400, {
    title: "Invalid JSON body",
    detail,
    instance: ctx.url.pathname,
  });
}

/**
 * The body's bytes once checked (decoded from `coding`: the cap counts
 * the decoded bytes), or the answer refusing it.
 */
async function jsonBody(
  req: Request,
  ctx: RouteContext,
  deps: WriteDeps & { coding: RequestCoding; resource: Resource },
): Promise<SentBody | Response> {
  const { maxBytes, bodyTimeoutMs, coding } = deps;
  const expectedBytes = contentLengthOf(req.headers);
  // A request in flight keeps its connection from the server's timers, so
  // a body sent a byte now and then (or never) is timed here.
  const slow = watchWholeBody(readingBody(), req.headers);
  const timeout = AbortSignal.timeout(bodyTimeoutMs);
  const signal = AbortSignal.any([timeout, slow.signal]);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readBody(req.body && decodedBody(req.body, coding), {
      maxBytes,
      signal,
      ...(expectedBytes === undefined ? {} : { expectedBytes }),
    }) as Uint8Array<ArrayBuffer>;
  } catch (error) {
    if (error instanceof BodyTooLargeError) return tooLarge(error, ctx);
    if (slow.signal.reason instanceof BodyReadStopped) return stopped(ctx);
    if (error instanceof FramesTooSmallError) return framesTooSmall(error, ctx);
    if (error instanceof TrailerFloodError) return floodAnswer(error, ctx.url);
    if (signal.aborted) {
      return bodyTimeout(slowDetail(slow, bodyTimeoutMs), ctx);
    }
    return invalidJson(
      coding === "identity"
        ? "The body could not be read to its end"
        : `The body could not be read to its end as ${coding}`,
      ctx,
    );
  } finally {
    slow.done();
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    return invalidJson(
      bytes.byteLength === 0
        ? "The body is empty; a JSON object is needed"
        : `The body is not JSON: ${(error as Error).message}`,
      ctx,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return invalidJson("The body must be a JSON object", ctx);
  }
  const depth = jsonDepth(bytes);
  if (depth > MAX_JSON_DEPTH) {
    return invalidJson(
      `The body nests ${depth} levels deep; at most ${MAX_JSON_DEPTH} are taken`,
      ctx,
    );
  }
  return inputRefusal(value, deps.resource, ctx.url.pathname) ??
    { bytes, value: value as Record<string, unknown> };
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
