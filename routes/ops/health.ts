/**
 * The root greeting and the probes: `/healthz` (the process answers) and
 * `/readyz` (it takes work: 503 while draining for shutdown).
 *
 * @module
 */

import { noStoreJson } from "../../services/http/no_store_json.ts";
import { problem } from "../../services/http/problem.ts";
import type { Route } from "../router.ts";

/** What the health routes need to know. */
export interface HealthDeps {
  /** Whether the service is shutting down. */
  draining: () => boolean;
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
      handler: () =>
        deps.draining()
          ? problem(503, {
            detail: "The service is shutting down",
            instance: "/readyz",
          }, { headers: { "retry-after": "5" } })
          : noStoreJson({ status: "ready" }),
    },
  ];
}
