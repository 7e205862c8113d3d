/**
 * `DELETE /files/:id`: removes a stored file (bearer token required when
 * one is set).
 *
 * @module
 */

import { problem } from "../../services/http/problem.ts";
import type { Logger } from "../../services/ops/logger.ts";
import type { FileStorage } from "../../services/storage/storage.ts";
import type { Handler, RouteContext } from "../router.ts";

/** The handler of `DELETE /files/:id`. */
export function removeHandler(
  store: FileStorage,
  unauthorized: (req: Request, ctx: RouteContext) => Response | undefined,
  logger: Logger,
): Handler {
  return async (req, ctx) => {
    const denied = unauthorized(req, ctx);
    if (denied) return denied;
    const removed = await store.delete(ctx.params.id ?? "");
    if (!removed) {
      return problem(404, {
        detail: "No such file",
        instance: ctx.url.pathname,
      });
    }
    logger.info("file.deleted", {
      requestId: ctx.requestId,
      id: ctx.params.id,
    });
    return new Response(null, { status: 204 });
  };
}
