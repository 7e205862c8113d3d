/**
 * `GET /metrics`: the Prometheus text exposition of the service's metrics.
 *
 * @module
 */

import type { Metrics } from "../../services/ops/metrics.ts";
import type { Route } from "../router.ts";

/** The route table entry of the metrics endpoint. */
export function metricsRoutes(metrics: Metrics): Route[] {
  return [{
    method: "GET",
    pattern: "/metrics",
    handler: async () => {
      const { body, contentType } = await metrics.expose();
      const bytes = new TextEncoder().encode(body);
      // An explicit length, so HEAD /metrics can send it too.
      return new Response(bytes, {
        headers: {
          "content-type": contentType,
          "content-length": String(bytes.byteLength),
          "cache-control": "no-store",
        },
      });
    },
  }];
}
