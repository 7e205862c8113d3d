/**
 * The root greeting and the probes: `/healthz` (the process answers) and
 * `/readyz` (it takes work: 503 while draining for shutdown).
 *
 * @module
 */

import { problem } from "../../services/http/problem.ts";
import type { Route } from "../router.ts";

/** What the health routes need to know. */
export interface HealthDeps {
  /** Whether the service is shutting down. */
  draining: () => boolean;
}

function json(value: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  headers.set("cache-control", "no-store");
  headers.set("content-length", String(bytes.byteLength));
  return new Response(bytes, { ...init, headers });
}

/** The route table entries of the root and the probes. */
export function healthRoutes(deps: HealthDeps): Route[] {
  return [
    {
      method: "GET",
      pattern: "/",
      handler: () => json({ Hello: "World" }),
    },
    {
      method: "GET",
      pattern: "/healthz",
      handler: () => json({ status: "ok" }),
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
          : json({ status: "ready" }),
    },
  ];
}
