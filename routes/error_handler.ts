/**
 * The central error handler: what a route throws (or a failure while its
 * answer is finished) becomes an RFC 9457 problem answer, logged as
 * `request.failed` with the request id. Known failures keep their status
 * and message (an upstream failure, out of file descriptors); anything
 * else is a generic 500, so no internal detail reaches the client. An
 * upstream failure is logged without its stack: it is the same few frames
 * of the upstream client every time, and under load shedding there is one
 * per request (3,281 lines of ~1.1 KB in 4 s of a miss flood, where the
 * name, message and status, ~0.3 KB, say it all). A call shed before it
 * reached the upstream (503) is not logged here at all: the client says
 * so in one throttled `upstream.shed` line (services/upstream/shed_log.ts),
 * and the access line gives the request's 503. Nor is each request failed
 * for want of file descriptors (503): they come once per request while
 * the process is out of them, so their `request.failed` line is written
 * at most every 10 s, counting them (`slowhttptest -X` under
 * `ulimit -n 1024` wrote 64 such error lines, one per download). That
 * throttled line is made once with the pipeline ({@linkcode errorLogOf})
 * and handed in, so its count and clock live with the app that owns it.
 *
 * @module
 */

import { problem } from "../services/http/problem.ts";
import { CountedLine } from "../services/ops/counted_line.ts";
import {
  dependencyOutOf,
  outOfDescriptors,
} from "../services/ops/descriptors.ts";
import { describe } from "../services/ops/error_chain.ts";
import type { Logger } from "../services/ops/logger.ts";
import { UpstreamError } from "../services/upstream/client.ts";
import { isShed } from "../services/upstream/error.ts";
import type { RouteContext } from "./router.ts";

/**
 * Where the central error handler writes: the logger, and the throttled
 * `request.failed` line of requests failed for want of file descriptors.
 */
export interface ErrorLog {
  readonly logger: Logger;
  /** One line at most every 10 s, counting them (see the module doc). */
  readonly descriptors: CountedLine<"emfile">;
}

/** The {@linkcode ErrorLog} of `logger`, made once per pipeline. */
export function errorLogOf(logger: Logger): ErrorLog {
  return {
    logger,
    descriptors: new CountedLine({
      logger,
      msg: "request.failed",
      level: "error",
      countsAs: "failed",
    }),
  };
}

/**
 * Turns an unexpected error into a problem response. Known failures keep
 * their status and message; anything else becomes a generic 500 so no
 * internal detail reaches the client. Every 5xx is logged but a shed
 * call's (see the module doc).
 */
export function errorResponse(
  error: unknown,
  ctx: RouteContext,
  log: ErrorLog,
): Response {
  const response = error instanceof UpstreamError
    ? upstreamProblem(error, ctx)
    : outOfDescriptors(error)
    // Out of file descriptors is an overload that passes (connections
    // close, idle ones are reclaimed): the client should come back.
    ? problem(503, {
      detail: "The server is overloaded; retry shortly",
      instance: ctx.url.pathname,
    }, { headers: { "retry-after": "1" } })
    : problem(500, {
      detail: "The server failed to handle the request",
      instance: ctx.url.pathname,
    });
  if (isShed(error)) return response;
  const fields = {
    requestId: ctx.requestId,
    path: ctx.url.pathname,
    route: ctx.route,
    status: response.status,
    error: error instanceof UpstreamError ? upstreamFields(error) : error,
  };
  if (error instanceof UpstreamError || !outOfDescriptors(error)) {
    log.logger.error("request.failed", fields);
  } else {
    // Whose call ran out, as tagged where it was caught (its stack, which
    // would say, cannot be read then: descriptors.ts).
    const dependency = dependencyOutOf(error);
    log.descriptors.record(
      "emfile",
      dependency ? { ...fields, dependency } : fields,
    );
  }
  return response;
}

/**
 * What the log says of an upstream failure: no stack (see the module
 * doc), the cause's message and its own causes' when there is one (the
 * network error behind "upstream connection failed": Deno's "fetch failed"
 * alone, the one level this line gave, told no refusal from a name that
 * does not resolve).
 */
function upstreamFields(error: UpstreamError): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    name: error.name,
    message: error.message,
    status: error.status,
  };
  if (error.upstreamStatus !== undefined) {
    fields.upstreamStatus = error.upstreamStatus;
  }
  if (error.cause instanceof Error) fields.cause = describe(error.cause);
  return fields;
}

/** An upstream failure keeps its status, message and `Retry-After`. */
function upstreamProblem(error: UpstreamError, ctx: RouteContext): Response {
  const headers = error.retryAfterSeconds === undefined
    ? undefined
    : { "retry-after": String(error.retryAfterSeconds) };
  return problem(error.status, {
    detail: error.message,
    instance: ctx.url.pathname,
    ...(error.upstreamStatus === undefined
      ? {}
      : { upstreamStatus: error.upstreamStatus }),
  }, headers ? { headers } : {});
}
