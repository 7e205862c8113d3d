/**
 * Live progress of the uploads in flight: `GET /uploads` lists them with
 * their figures so far, `GET /uploads/events` streams the same as
 * Server-Sent Events (`progress` a few times a second per upload, then one
 * `done` or `failed`), for all uploads or, with `?id=`, one. With
 * `UPLOAD_TOKEN` set, both need the token like the uploads themselves.
 * With `REDIS_URL`, both cover the uploads of every instance sharing the
 * Redis (`services/uploads/relay.ts`).
 *
 * @module
 */

import { noStoreJson } from "../../services/http/no_store_json.ts";
import { problem } from "../../services/http/problem.ts";
import {
  ENDED_EVENT_ID,
  type UploadWatchers,
} from "../../services/uploads/watchers.ts";
import type { Handler, Route, RouteContext } from "../router.ts";
import type { UploadListBody } from "./schemas.ts";

/** What the progress routes read. */
export interface ProgressOptions {
  watchers: UploadWatchers;
  /** 401 when a token is set and not given, else `undefined`. */
  unauthorized: (req: Request, ctx: RouteContext) => Response | undefined;
}

function listHandler({ watchers, unauthorized }: ProgressOptions): Handler {
  return (req, ctx) => {
    const denied = unauthorized(req, ctx);
    if (denied) return denied;
    // With REDIS_URL, the other instances' uploads too (relay.ts).
    const body: UploadListBody = { items: watchers.list() };
    return noStoreJson(body);
  };
}

function eventsHandler({ watchers, unauthorized }: ProgressOptions): Handler {
  return (req, ctx) => {
    const denied = unauthorized(req, ctx);
    if (denied) return denied;
    // The query check already held `id` to the file id pattern.
    const id = ctx.query.get("id") ?? undefined;
    // EventSource reconnecting after the upload's ending: it is over, and
    // a 204 stops EventSource for good.
    if (
      id !== undefined && req.headers.get("last-event-id") === ENDED_EVENT_ID
    ) {
      return new Response(null, {
        status: 204,
        headers: { "cache-control": "no-store" },
      });
    }
    const client = ctx.remoteAddress;
    if (watchers.fullFor(client)) {
      return problem(429, {
        detail: "This client holds its most event streams already; close " +
          "one, or poll GET /uploads",
        instance: ctx.url.pathname,
      }, { headers: { "retry-after": "5" } });
    }
    const stream = watchers.open(id, { client });
    if (!stream) {
      return problem(503, {
        detail: "Too many event subscribers, or the service is shutting " +
          "down; retry shortly or poll GET /uploads",
        instance: ctx.url.pathname,
      }, { headers: { "retry-after": "5" } });
    }
    return stream.response();
  };
}

/** The route table entries of the live progress. */
export function progressRoutes(options: ProgressOptions): Route[] {
  return [
    { method: "GET", pattern: "/uploads", handler: listHandler(options) },
    {
      method: "GET",
      pattern: "/uploads/events",
      handler: eventsHandler(options),
    },
  ];
}
