/**
 * The root greeting and the probes: `/healthz` (the process answers, from
 * the moment it listens) and `/readyz` (it takes every kind of work: 503
 * while the file index is still being built after a start, and while
 * draining for shutdown).
 *
 * A start over a big files folder listens at once and builds the index in
 * the background (`services/storage/index_build.ts`): `/healthz` stays 200
 * meanwhile, so a container's health check does not restart an instance
 * that is only loading; `/readyz` is 503, so a load balancer (and the
 * README's rolling restart, which waits for it) sends it nothing yet
 * rather than listings it would refuse.
 *
 * On an S3 store, `/readyz` is 503 too while the store cannot serve
 * (unreachable, its bucket missing, the credentials refused), naming the
 * dependency and why, and 200 again once it can: the verdict of the
 * storage's recent requests or of a probe at most every 2 s
 * (`services/storage/s3_health.ts`), never a request to the store per hit;
 * a store that hangs is `unresponsive` within 4 s of its last answer.
 *
 * @module
 */

import { noStoreJson } from "../../services/http/no_store_json.ts";
import { problem } from "../../services/http/problem.ts";
import type { IndexProgress } from "../../services/storage/folder_index.ts";
import {
  buildDetail,
  retryAfterSeconds,
} from "../../services/storage/index_build.ts";
import type {
  StoreDownReason,
  StoreVerdict,
} from "../../services/storage/s3_health.ts";
import type { Route } from "../router.ts";

/** What the health routes need to know. */
export interface HealthDeps {
  /** Whether the service is shutting down. */
  draining: () => boolean;
  /**
   * `undefined` once the start's work on the files folder is done (waiting
   * at most `waitMs` for it), else how far the index's build has gone.
   * @default {always done (no folder: S3)}
   */
  indexing?: (
    waitMs: number,
  ) => Promise<{ progress?: IndexProgress } | undefined>;
  /**
   * Whether the file storage serves (waiting at most `waitMs` for a probe).
   * @default {always (the local disk: its failures are per request)}
   */
  storage?: (waitMs: number) => Promise<StoreVerdict>;
}

// What `/readyz` says of a store that cannot serve: the settings to look
// at, not hosts or names (the store's own answer goes to the log).
const STORE_DOWN: Record<StoreDownReason, string> = {
  unreachable: "The file storage (S3_ENDPOINT) cannot be reached",
  unresponsive: "The file storage (S3_ENDPOINT) takes requests " +
    "but does not answer them",
  "bucket-missing": "The file storage's bucket (S3_BUCKET) is missing",
  "credentials-refused": "The file storage refuses this service's " +
    "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
  "clock-skewed": "The file storage refuses this host's clock " +
    "(over 15 min off the store's: check its time sync)",
  "proxy-refused": "The HTTP proxy the file storage is reached through " +
    "refuses its requests (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)",
  "not-the-bucket": "The file storage answers for something other than " +
    "its bucket (S3_FORCE_PATH_STYLE: false needs a store that serves " +
    "BUCKET.ENDPOINT as the bucket)",
};

// How long `/readyz` waits for a build about to end (a small folder's takes
// a few ms, and a probe right after the start should not see it) or for the
// store's probe. Fixed: well below the 1 s a Kubernetes probe waits by
// default, and only the call that starts a probe waits.
const READY_WAIT_MS = 200;

/**
 * `/readyz`'s answer: 503 while draining, building or the storage cannot
 * serve, else 200.
 */
async function readiness(deps: HealthDeps): Promise<Response> {
  if (deps.draining()) {
    return problem(503, {
      detail: "The service is shutting down",
      instance: "/readyz",
    }, { headers: { "retry-after": "5" } });
  }
  const building = await deps.indexing?.(READY_WAIT_MS);
  if (building === undefined) return await storageReadiness(deps);
  return problem(503, {
    detail: buildDetail(building.progress),
    instance: "/readyz",
  }, {
    headers: { "retry-after": String(retryAfterSeconds(building.progress)) },
  });
}

/** 200, or 503 naming the storage and why it cannot serve. */
async function storageReadiness(deps: HealthDeps): Promise<Response> {
  const verdict = await deps.storage?.(READY_WAIT_MS);
  if (verdict === undefined || verdict.ready) {
    return noStoreJson({ status: "ready" });
  }
  return problem(503, {
    detail: STORE_DOWN[verdict.reason],
    instance: "/readyz",
    dependency: "storage",
    reason: verdict.reason,
  }, { headers: { "retry-after": "5" } });
}

/** The route table entries of the root and the probes. */
export function healthRoutes(deps: HealthDeps): Route[] {
  return [
    {
      method: "GET",
      pattern: "/",
      handler: () => noStoreJson({ Hello: "World" }),
    },
    {
      method: "GET",
      pattern: "/healthz",
      handler: () => noStoreJson({ status: "ok" }),
    },
    {
      method: "GET",
      pattern: "/readyz",
      handler: () => readiness(deps),
    },
  ];
}
