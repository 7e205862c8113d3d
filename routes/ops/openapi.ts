/**
 * The OpenAPI fragment of the operations routes: the greeting and probes,
 * `/metrics`, and the docs (`/openapi.json`, `/docs` and its assets).
 *
 * @module
 */

import { z } from "zod";
import type {
  ApiFragment,
  OperationDescription,
} from "../../services/ops/openapi.ts";
import { jsonSchemaOf } from "../../services/ops/openapi.ts";
import {
  DEFAULT_ERROR,
  headerRef,
  IF_NONE_MATCH,
  json,
  REQUEST_ID_HEADER,
  retryLater,
  schemaRef,
} from "../../services/ops/openapi_parts.ts";

/** The body of `/healthz` and `/readyz`. */
export const StatusSchema = z.object({ status: z.enum(["ok", "ready"]) });

/** The body of `GET /`. */
export const GreetingSchema = z.object({ Hello: z.literal("World") });

/** An asset of the docs page. */
function asset(
  operationId: string,
  summary: string,
  mediaType: string,
): OperationDescription {
  return {
    operationId,
    summary,
    description: "An asset of the docs page (Swagger UI), served by this " +
      "service so the page needs no other origin.",
    tags: ["docs"],
    responses: {
      "200": {
        description: "The asset (cached for a day).",
        headers: {
          "Cache-Control": headerRef("CacheControl"),
          ...REQUEST_ID_HEADER,
        },
        content: { [mediaType]: { schema: { type: "string" } } },
      },
      ...DEFAULT_ERROR,
    },
  };
}

/** The operations routes' part of the OpenAPI document. */
export const opsDocs: ApiFragment = {
  tags: [
    { name: "health", description: "Greeting and probes." },
    { name: "metrics", description: "Prometheus metrics." },
    { name: "docs", description: "This document and its UI." },
  ],
  operations: {
    "GET /": {
      operationId: "getRoot",
      summary: "Greeting",
      description: 'Answers `{"Hello":"World"}`; touches nothing else.',
      tags: ["health"],
      responses: {
        "200": {
          description: "A greeting.",
          headers: REQUEST_ID_HEADER,
          content: json(jsonSchemaOf(GreetingSchema)),
        },
        ...DEFAULT_ERROR,
      },
    },
    "GET /healthz": {
      operationId: "getHealthz",
      summary: "Liveness probe",
      description: "Answers 200 as long as the process serves requests.",
      tags: ["health"],
      responses: {
        "200": {
          description: "The process is alive.",
          headers: REQUEST_ID_HEADER,
          content: json(schemaRef("Status")),
        },
        ...DEFAULT_ERROR,
      },
    },
    "GET /readyz": {
      operationId: "getReadyz",
      summary: "Readiness probe",
      description: "503 once a shutdown began, so load balancers move away.",
      tags: ["health"],
      responses: {
        "200": {
          description: "The service takes work.",
          headers: REQUEST_ID_HEADER,
          content: json(schemaRef("Status")),
        },
        "503": retryLater("The service is shutting down."),
        ...DEFAULT_ERROR,
      },
    },
    "GET /openapi.json": {
      operationId: "getOpenApi",
      summary: "This OpenAPI document",
      description: "Built from the route table: every route has one " +
        "operation and every operation a route. The query constraints it " +
        "declares are the ones the server enforces.",
      tags: ["docs"],
      parameters: [IF_NONE_MATCH],
      responses: {
        "200": {
          description: "The OpenAPI 3.1 document.",
          headers: {
            "ETag": headerRef("ETag"),
            "Cache-Control": headerRef("CacheControl"),
            ...REQUEST_ID_HEADER,
          },
          content: json({ type: "object" }),
        },
        "304": {
          description: "Not modified.",
          headers: { "ETag": headerRef("ETag"), ...REQUEST_ID_HEADER },
        },
        ...DEFAULT_ERROR,
      },
    },
    "GET /docs": {
      operationId: "getDocs",
      summary: "Interactive API docs (Swagger UI)",
      description: "Served entirely by this service; the page makes no " +
        "request to any other origin.",
      tags: ["docs"],
      responses: {
        "200": {
          description: "The HTML page.",
          headers: REQUEST_ID_HEADER,
          content: { "text/html": { schema: { type: "string" } } },
        },
        ...DEFAULT_ERROR,
      },
    },
    "GET /docs/swagger-ui.css": asset(
      "getSwaggerUiCss",
      "Swagger UI stylesheet",
      "text/css",
    ),
    "GET /docs/swagger-ui-bundle.js": asset(
      "getSwaggerUiBundle",
      "Swagger UI script",
      "text/javascript",
    ),
    "GET /docs/swagger-initializer.js": asset(
      "getSwaggerInitializer",
      "Script that starts Swagger UI on /openapi.json",
      "text/javascript",
    ),
    "GET /metrics": {
      operationId: "getMetrics",
      summary: "Prometheus metrics",
      description: "Requests, cache lookups, upstream attempts, uploads and " +
        "process figures, in the Prometheus text format; never cached.",
      tags: ["metrics"],
      responses: {
        "200": {
          description: "Metrics in the Prometheus text format.",
          headers: REQUEST_ID_HEADER,
          content: { "text/plain": { schema: { type: "string" } } },
        },
        ...DEFAULT_ERROR,
      },
    },
  },
  // `/metrics` exists only when the app serves it.
  optional: ["GET /metrics"],
  schemas: { Status: StatusSchema },
};
