/**
 * `DELETE /files/:id`: removes a stored file (bearer token required when
 * one is set), only when the request's preconditions hold (RFC 9110 13.1:
 * `If-Match`, `If-Unmodified-Since`, `If-None-Match`; false is 412).
 *
 * @module
 */

import { evaluatePreconditions } from "../../services/http/conditional.ts";
import { problem } from "../../services/http/problem.ts";
import type { Logger } from "../../services/ops/logger.ts";
import type { FileStorage } from "../../services/storage/storage.ts";
import type { Handler, RouteContext } from "../router.ts";
import { fileValidators } from "./download.ts";

// The fields that make a DELETE conditional (If-Modified-Since and
// If-Range apply to GET and HEAD only).
const PRECONDITIONS = ["if-match", "if-unmodified-since", "if-none-match"];

/**
 * A 412 when `req` has preconditions that file `id` does not meet, a 404
 * when there is no such file, else `undefined`. Asks the store only when
 * there are preconditions (on S3 a stat is a round trip).
 */
async function refusal(
  req: Request,
  ctx: RouteContext,
  store: FileStorage,
): Promise<Response | undefined> {
  if (!PRECONDITIONS.some((name) => req.headers.has(name))) return undefined;
  const meta = await store.stat(ctx.params.id ?? "");
  // No file: 404 whatever the preconditions say (RFC 9110 13.2.1).
  if (!meta) return notFound(ctx);
  const validators = fileValidators(meta);
  if (
    evaluatePreconditions(req.method, req.headers, validators) === "proceed"
  ) {
    return undefined;
  }
  return problem(412, {
    detail: "The file does not match the request's preconditions",
    instance: ctx.url.pathname,
  }, { headers: { etag: validators.etag } });
}

function notFound(ctx: RouteContext): Response {
  return problem(404, { detail: "No such file", instance: ctx.url.pathname });
}

/** The handler of `DELETE /files/:id`. */
export function removeHandler(
  store: FileStorage,
  unauthorized: (req: Request, ctx: RouteContext) => Response | undefined,
  logger: Logger,
): Handler {
  return async (req, ctx) => {
    const denied = unauthorized(req, ctx);
    if (denied) return denied;
    const refused = await refusal(req, ctx, store);
    if (refused) return refused;
    const removed = await store.delete(ctx.params.id ?? "");
    if (!removed) return notFound(ctx);
    logger.info("file.deleted", {
      requestId: ctx.requestId,
      id: ctx.params.id,
    });
    return new Response(null, { status: 204 });
  };
}
