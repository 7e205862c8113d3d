/**
 * `DELETE /files/:id`: removes a stored file (bearer token required when
 * one is set), only when the request's preconditions hold (RFC 9110 13.1:
 * `If-Match`, `If-Unmodified-Since`, `If-None-Match`; false is 412).
 *
 * @module
 */

import {
  evaluatePreconditions,
  preconditionFailed,
} from "../../services/http/conditional.ts";
import { problem } from "../../services/http/problem.ts";
import type { Logger } from "../../services/ops/logger.ts";
import type { FileStorage } from "../../services/storage/storage.ts";
import type { Handler, RouteContext } from "../router.ts";
import { fileValidators } from "./download.ts";

// The fields that make a DELETE conditional (If-Modified-Since and
// If-Range apply to GET and HEAD only).
const PRECONDITIONS = ["if-match", "if-unmodified-since", "if-none-match"];

/**
 * Deletes file `id` only when `req`'s preconditions hold of it, checked
 * and deleted as one step as far as the store allows
 * ({@linkcode FileStorage.deleteIf}): another change of the file between
 * the two is not deleted. A 412 names the `ETag` of the file there.
 */
async function conditionalDelete(
  req: Request,
  ctx: RouteContext,
  store: FileStorage,
): Promise<Response | undefined> {
  const done = await store.deleteIf(
    ctx.params.id ?? "",
    (meta) =>
      evaluatePreconditions(req.method, req.headers, fileValidators(meta)) ===
        "proceed",
  );
  // No file: 404 whatever the preconditions say (RFC 9110 13.2.1).
  if (done === "missing") return notFound(ctx);
  if (done === "deleted") return undefined;
  return preconditionFailed(
    ctx.url.pathname,
    fileValidators(done.refused).etag,
  );
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
    // Unconditional: no metadata to read first (on S3 a round trip).
    if (PRECONDITIONS.some((name) => req.headers.has(name))) {
      const refused = await conditionalDelete(req, ctx, store);
      if (refused) return refused;
    } else if (!(await store.delete(ctx.params.id ?? ""))) {
      return notFound(ctx);
    }
    logger.info("file.deleted", {
      requestId: ctx.requestId,
      id: ctx.params.id,
    });
    return new Response(null, { status: 204 });
  };
}
