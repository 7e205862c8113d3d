/**
 * A write's request body, read and checked before anything is sent on: at
 * most `WRITE_MAX_BYTES` once decoded (413, told by `Content-Length`
 * before any byte is read, else as soon as the count crosses it), whole
 * within its time (408; 503 when the service stops meanwhile), frames not
 * too small (400), well-formed UTF-8 JSON, an object, at most
 * {@linkcode MAX_JSON_DEPTH} levels deep and of the resource's input
 * schema (400). `writes.ts` routes the writes and passes them on.
 *
 * @module
 */

import { problem } from "../../services/http/problem.ts";
import { jsonDepth } from "../../services/http/json_depth.ts";
import { BodyTooLargeError, readBody } from "../../services/http/read_body.ts";
import { cancelledOnceAnswered } from "../../services/http/answered_body.ts";
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
} from "../../services/http/request_coding.ts";
import type { RouteContext } from "../router.ts";
import { inputRefusal, type SentBody } from "./write_schemas.ts";
import type { Resource } from "./resources.ts";

/** How {@linkcode jsonBody} reads one body. */
export interface WriteBodyOptions {
  /** Largest body once decoded, bytes (`WRITE_MAX_BYTES`). */
  maxBytes: number;
  /** Time for the whole body to arrive, ms (`HEADER_TIMEOUT_MS`). */
  bodyTimeoutMs: number;
  /** The body's `Content-Encoding`, decoded here. */
  coding: RequestCoding;
  /** The resource written, whose input schema the body must match. */
  resource: Resource;
}

/**
 * Deepest nesting of a body passed on. json-server serialises its answer
 * recursively and fails past about 5,000 levels (a 500 with its stack,
 * and five of them opened the circuit breaker for every client); a post
 * or a user is 3 deep.
 */
export const MAX_JSON_DEPTH = 64;

const decoder = new TextDecoder("utf-8", { fatal: true });

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
 * `req`'s body decoded from `coding`, its cancel on a refusal put off
 * until the answer is out (services/http/answered_body.ts).
 */
function bodyOf(
  req: Request,
  coding: RequestCoding,
): ReadableStream<Uint8Array> | null {
  const body = cancelledOnceAnswered(req);
  return body && decodedBody(body, coding);
}

/**
 * The body's bytes once checked (decoded from `coding`: the cap counts
 * the decoded bytes), or the answer refusing it.
 */
export async function jsonBody(
  req: Request,
  ctx: RouteContext,
  options: WriteBodyOptions,
): Promise<SentBody | Response> {
  const { maxBytes, bodyTimeoutMs, coding } = options;
  const expectedBytes = contentLengthOf(req.headers);
  // A request in flight keeps its connection from the server's timers, so
  // a body sent a byte now and then (or never) is timed here.
  const slow = watchWholeBody(readingBody(), req.headers);
  const timeout = AbortSignal.timeout(bodyTimeoutMs);
  const signal = AbortSignal.any([timeout, slow.signal]);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readBody(bodyOf(req, coding), {
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
  return inputRefusal(value, options.resource, ctx.url.pathname) ??
    { bytes, value: value as Record<string, unknown> };
}
