/**
 * The last step of the pipeline (`pipeline.ts`): a route's answer made
 * into the `Response` sent. A {@linkcode Reply} from memory is compressed
 * when asked, given the request id and CORS headers in its record, and
 * built once; a large one goes out in slices
 * (services/http/large_reply.ts). A `Response` is compressed, cut to its
 * head for `HEAD`, and given the same headers. A failure on the way
 * becomes the central error handler's answer.
 *
 * Every `Response` says `X-Content-Type-Options: nosniff`
 * (services/http/nosniff.ts): a browser then takes its body as the type sent,
 * never as HTML or script sniffed out of it. It matters most where the body
 * is not the service's (a stored upload: services/http/served_type.ts; a
 * problem naming the client's path), and a scanner (OWASP ZAP's rule 10021)
 * flags an answer with a body that lacks it. Set here, once, as the request
 * id is; only downloads and the pages said it before. A {@linkcode Reply}
 * (the upstream's JSON from the cache, the hot path) goes without: its
 * `application/json` is a type no browser sniffs (WHATWG MIME Sniffing
 * sniffs a missing or unknown type, and `text/plain`, images and media
 * within their kind, never JSON; a `<script>` of JSON is blocked by ORB), and
 * the header cost a cached hit 6 % more CPU (paired wrk runs, ABBA, 8
 * rounds: CPU per request × 1.063, IQR 1.041–1.108; req/s × 0.93).
 *
 * @module
 */

import type { Compressor } from "../services/http/compression.ts";
import { corsHeaders, corsRecord } from "../services/http/cors.ts";
import {
  LARGE_BODY_BYTES,
  largeResponseOf,
} from "../services/http/large_reply.ts";
import { setNosniff } from "../services/http/nosniff.ts";
import { withProblemRequestId } from "../services/http/problem.ts";
import { dropTally } from "../services/http/send_tally.ts";
import { isReply, type Reply, responseOf } from "../services/http/reply.ts";
import { type ErrorLog, errorResponse } from "./error_handler.ts";
import { headOf } from "./head.ts";
import type { RouteContext } from "./router.ts";

/** What of the request finishing reads: its route context, and more. */
export interface FinishContext extends RouteContext {
  /** The request's `Origin` (`null` without one: no CORS headers). */
  readonly origin: string | null;
}

/**
 * The response sent, and its status and body's length for the log (read
 * off the answer: the `Response`'s `status` getter is a checked call).
 */
export interface Finished {
  response: Response;
  status: number;
  bytes: number;
}

/** What finishing an answer needs besides the request. */
export interface FinishOptions {
  compressor: Compressor;
  /** Where a failure on the way is logged (made once with the pipeline). */
  errorLog: ErrorLog;
  /** See `PipelineOptions.sendTimeoutMs` (pipeline.ts). */
  sendTimeoutMs: number;
}

/**
 * A {@linkcode Reply} made into the response: compressed when asked, the
 * request id added to its record, and built once (see reply.ts); the
 * body's length read off the record (reading a Response's headers costs a
 * second serialisation). At once unless it is compressed now or its body
 * is large: a memory hit goes out without waiting on a promise.
 */
function finishReply(
  req: Request,
  answer: Reply,
  ctx: FinishContext,
  options: FinishOptions,
): Finished | Promise<Finished> {
  const reply = options.compressor.applyReply(ctx, answer);
  return reply instanceof Promise
    ? reply.then((reply) => madeReply(req, reply, ctx, options))
    : madeReply(req, reply, ctx, options);
}

function madeReply(
  req: Request,
  reply: Reply,
  ctx: FinishContext,
  { sendTimeoutMs }: FinishOptions,
): Finished | Promise<Finished> {
  reply.headers["x-request-id"] = ctx.requestId;
  corsRecord(reply.headers, ctx.origin);
  const sent = ctx.method === "HEAD" ? headOnly(reply) : reply;
  // The body's own length (a HEAD answer has none: its header says).
  const bytes = reply.body?.byteLength ??
    Number(reply.headers["content-length"] ?? 0);
  if (sent.body === null || sent.body.byteLength <= LARGE_BODY_BYTES) {
    return { response: responseOf(sent), status: sent.status, bytes };
  }
  // Streamed in slices, and given as a promise: the server then counts
  // the connection busy until it is sent (services/http/large_reply.ts).
  const response = largeResponseOf(sent, { req, timeoutMs: sendTimeoutMs });
  return Promise.resolve({ response, status: sent.status, bytes });
}

/**
 * The answer to `HEAD`: `reply` without its body, and with the
 * `Content-Length` of the body it stands for (RFC 9110 9.3.2), which a
 * record may leave to the runtime when it has a body (the cached GET's).
 */
function headOnly(reply: Reply): Reply {
  const { headers, body } = reply;
  if (body !== null) headers["content-length"] ??= String(body.byteLength);
  return { ...reply, body: null };
}

/**
 * A `Response` from a route: compressed when asked, the request id and
 * the CORS headers set.
 */
async function finishResponse(
  answer: Response,
  ctx: FinishContext,
  compressor: Compressor,
): Promise<Response> {
  let response = await compressor.apply(
    ctx,
    await withProblemRequestId(answer, ctx.requestId),
  );
  if (ctx.method === "HEAD") response = await headOf(response);
  response.headers.set("x-request-id", ctx.requestId);
  setNosniff(response.headers);
  corsHeaders(response.headers, ctx.origin);
  return response;
}

function finishedOf(response: Response): Finished {
  const bytes = Number(response.headers.get("content-length") ?? 0);
  return { response, status: response.status, bytes };
}

/**
 * The route's answer as sent, and its body's length for the log; a
 * failure on the way becomes the central error handler's answer.
 */
export function finish(
  req: Request,
  ctx: FinishContext,
  answer: Response | Reply,
  options: FinishOptions,
): Finished | Promise<Finished> {
  const { compressor, errorLog } = options;
  try {
    const finished = isReply(answer)
      ? finishReply(req, answer, ctx, options)
      : finishResponse(answer, ctx, compressor).then(finishedOf);
    return finished instanceof Promise
      ? finished.catch((error) => failedFinish(req, error, ctx, errorLog))
      : finished;
  } catch (error) {
    return failedFinish(req, error, ctx, errorLog);
  }
}

/**
 * The central error handler's answer to a failure while finishing: the
 * streamed body it stands in for is not sent, so its tally is dropped.
 */
async function failedFinish(
  req: Request,
  error: unknown,
  ctx: FinishContext,
  errorLog: ErrorLog,
): Promise<Finished> {
  dropTally(req);
  const response = await withProblemRequestId(
    errorResponse(error, ctx, errorLog),
    ctx.requestId,
  );
  response.headers.set("x-request-id", ctx.requestId);
  setNosniff(response.headers);
  corsHeaders(response.headers, ctx.origin);
  return finishedOf(response);
}
