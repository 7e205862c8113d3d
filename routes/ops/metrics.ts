/**
 * `GET /metrics`: the Prometheus text exposition of the service's metrics
 * (under `deno serve --parallel`, of every worker: worker_metrics.ts).
 *
 * @module
 */

import { problem } from "../../services/http/problem.ts";
import type { Metrics } from "../../services/ops/metrics.ts";
import type { Route } from "../router.ts";

/** The route table entry of the metrics endpoint. */
export function metricsRoutes(metrics: Metrics): Route[] {
  return [{
    method: "GET",
    pattern: "/metrics",
    handler: async () => {
      const exposed = await metrics.expose();
      if (exposed === undefined) {
        // Another worker's figures are missing: a partial sum would drop,
        // a counter reset to Prometheus. A failed scrape is only a gap.
        return problem(503, {
          detail: "Another worker of this process did not send its metrics " +
            "in time; nothing is reported rather than a partial sum",
        }, { headers: { "retry-after": "1" } });
      }
      const { body, contentType } = exposed;
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
