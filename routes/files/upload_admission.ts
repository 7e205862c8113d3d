/**
 * The upload slots' limits, as the upload route answers them before it
 * takes a slot: 503 while draining (retry on another instance), 429 when
 * this client runs `MAX_UPLOADS_PER_CLIENT` uploads, 503 when
 * `MAX_CONCURRENT_UPLOADS` run. Each answer closes the connection: the
 * body is not read.
 *
 * @module
 */

import { problem } from "../../services/http/problem.ts";
import type { UploadTracker } from "../../services/uploads/tracker.ts";
import type { UploadRefusal } from "./upload_length.ts";

/** Options of {@linkcode slotRefusal}. */
export interface SlotLimits {
  /** Whether the service is shutting down. */
  draining: () => boolean;
  /** The uploads running, in all and per client. */
  tracker: UploadTracker;
  /** `MAX_UPLOADS_PER_CLIENT`; 0: no cap. */
  maxUploadsPerClient: number;
  /** `MAX_CONCURRENT_UPLOADS`. */
  maxConcurrentUploads: number;
  /** The client, as the tracker counts it. */
  client: string | undefined;
  /** The problem's `instance`. */
  instance: string;
}

/**
 * Why an upload from `client` may not take a slot now, or `undefined`
 * when it may.
 */
export function slotRefusal(limits: SlotLimits): UploadRefusal | undefined {
  const { draining, tracker, maxUploadsPerClient, maxConcurrentUploads } =
    limits;
  const { client, instance } = limits;
  if (draining()) {
    return {
      outcome: "busy",
      response: problem(503, {
        detail: "The service is shutting down; retry on another instance",
        instance,
      }, { headers: { "retry-after": "5", connection: "close" } }),
    };
  }
  if (
    maxUploadsPerClient > 0 &&
    tracker.activeFor(client) >= maxUploadsPerClient
  ) {
    return {
      outcome: "client_limit",
      response: problem(429, {
        detail:
          `This client already runs ${maxUploadsPerClient} uploads; retry once one has ended`,
        instance,
      }, { headers: { "retry-after": "1", connection: "close" } }),
    };
  }
  if (tracker.active < maxConcurrentUploads) return undefined;
  return {
    outcome: "busy",
    response: problem(503, {
      detail: `${maxConcurrentUploads} uploads are running; retry shortly`,
      instance,
    }, { headers: { "retry-after": "1", connection: "close" } }),
  };
}
