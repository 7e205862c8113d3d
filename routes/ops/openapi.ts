/**
 * The OpenAPI fragment of the operations routes: the greeting and probes,
 * `/metrics`, the docs (`/openapi.json`, `/docs` and its assets), and the
 * cache purge (`DELETE /cache`, with `CACHE_ADMIN_TOKEN` only).
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
  ASSET_HEADERS,
  DEFAULT_ERROR,
  headerRef,
  json,
  PAGE_HEADERS,
  problemResponse,
  retryLater,
  schemaRef,
  staticTextOperation,
  UNCACHED_HEADERS,
} from "../../services/ops/openapi_parts.ts";
import { PurgeResultSchema } from "./purge.ts";

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
  return staticTextOperation({
    operationId,
    summary,
    description: "An asset of the docs page (Swagger UI), served by this " +
      "service so the page needs no other origin.",
    tags: ["docs"],
    what: "The asset",
    content: { [mediaType]: { schema: { type: "string" } } },
    headers: ASSET_HEADERS,
  });
}

const PURGE_TARGET = { type: "string", pattern: "^/", maxLength: 2048 };

const PURGE: OperationDescription = {
  operationId: "purgeCache",
  summary: "Drop cached JSONPlaceholder reads",
  description: "Exists only when the service runs with " +
    "`CACHE_ADMIN_TOKEN` (404 otherwise), and needs it as a bearer token. " +
    "Give exactly one of `path` (that path with every query variant: " +
    "`/posts/1` and `/posts/1?_embed=comments`, not `/posts/1/comments`) " +
    "or `prefix` (the path, its variants and everything under it; `/` is " +
    "everything). With `REDIS_URL` the entries go from Redis and every " +
    "instance's memory. Counted in `cache_invalidations_total{cause=" +
    '"purge"}`.',
  tags: ["cache"],
  parameters: [
    {
      name: "path",
      in: "query",
      description: "An exact path, e.g. `/posts/1`.",
      schema: PURGE_TARGET,
      example: "/posts/1",
    },
    {
      name: "prefix",
      in: "query",
      description: "A path whose subtree goes, e.g. `/posts`.",
      schema: PURGE_TARGET,
    },
  ],
  responses: {
    "200": {
      description: "What was dropped.",
      headers: UNCACHED_HEADERS,
      content: json(jsonSchemaOf(PurgeResultSchema)),
    },
    "400": problemResponse(
      "Neither or both of `path` and `prefix`, one given twice, or a " +
        "value that is not a normalized absolute path (no query, no dot " +
        "segments).",
    ),
    // Inline, as the body above: without the route no component is left
    // unused.
    "401": {
      ...problemResponse(
        "The bearer token is missing or is not `CACHE_ADMIN_TOKEN`.",
      ),
      headers: {
        "WWW-Authenticate": headerRef("WWWAuthenticate"),
        ...UNCACHED_HEADERS,
      },
    },
    ...DEFAULT_ERROR,
  },
  security: [{ cacheAdmin: [] }],
};

/** The operations routes' part of the OpenAPI document. */
export const opsDocs: ApiFragment = {
  tags: [
    { name: "health", description: "Greeting and probes." },
    { name: "metrics", description: "Prometheus metrics." },
    { name: "docs", description: "This document and its UI." },
    { name: "cache", description: "The cache of JSONPlaceholder reads." },
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
          headers: UNCACHED_HEADERS,
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
          headers: UNCACHED_HEADERS,
          content: json(schemaRef("Status")),
        },
        ...DEFAULT_ERROR,
      },
    },
    "GET /readyz": {
      operationId: "getReadyz",
      summary: "Readiness probe",
      description: "503 while the file index is still being built after a " +
        "start (every other route answers meanwhile; `GET /files` may " +
        "answer 503 too), once a shutdown began, and on an S3 store while " +
        "it cannot serve (`dependency` `storage`, with the `reason`), so " +
        "load balancers send the instance nothing. The store's state is " +
        "its last request's outcome or a probe's, renewed at most every " +
        "2 s: polling this asks the store nothing more.",
      tags: ["health"],
      responses: {
        "200": {
          description: "The service takes work.",
          headers: UNCACHED_HEADERS,
          content: json(schemaRef("Status")),
        },
        "503": retryLater(
          "The file index is being built, the service is shutting down, " +
            "or the S3 store cannot serve.",
        ),
        ...DEFAULT_ERROR,
      },
    },
    "GET /openapi.json": staticTextOperation({
      operationId: "getOpenApi",
      summary: "This OpenAPI document",
      description: "Built from the route table: every route has one " +
        "operation and every operation a route. The query constraints it " +
        "declares are the ones the server enforces.",
      tags: ["docs"],
      what: "The OpenAPI 3.1 document",
      content: json({ type: "object" }),
      headers: ASSET_HEADERS,
    }),
    "GET /docs": staticTextOperation({
      operationId: "getDocs",
      summary: "Interactive API docs (Swagger UI)",
      description: "Served entirely by this service; the page makes no " +
        "request to any other origin.",
      tags: ["docs"],
      what: "The HTML page",
      content: { "text/html": { schema: { type: "string" } } },
      headers: PAGE_HEADERS,
    }),
    "GET /assets/swagger-ui.css": asset(
      "getSwaggerUiCss",
      "Swagger UI stylesheet",
      "text/css",
    ),
    "GET /assets/swagger-ui-bundle.js": asset(
      "getSwaggerUiBundle",
      "Swagger UI script",
      "text/javascript",
    ),
    "GET /assets/swagger-initializer.js": asset(
      "getSwaggerInitializer",
      "Script that starts Swagger UI on /openapi.json",
      "text/javascript",
    ),
    "DELETE /cache": PURGE,
    "GET /metrics": {
      operationId: "getMetrics",
      summary: "Prometheus metrics",
      description: "Requests, cache lookups, upstream attempts, uploads and " +
        "process figures, in the Prometheus text format; never cached.",
      tags: ["metrics"],
      responses: {
        "200": {
          description: "Metrics in the Prometheus text format.",
          headers: UNCACHED_HEADERS,
          content: { "text/plain": { schema: { type: "string" } } },
        },
        "503": retryLater(
          "Under `deno serve --parallel`: another worker did not send its " +
            "figures in time; nothing is reported rather than a partial sum.",
        ),
        ...DEFAULT_ERROR,
      },
    },
  },
  // `/metrics` exists only when the app serves it; `DELETE /cache` only
  // with CACHE_ADMIN_TOKEN.
  optional: ["GET /metrics", "DELETE /cache"],
  schemas: { Status: StatusSchema },
  securitySchemes: {
    cacheAdmin: {
      type: "http",
      scheme: "bearer",
      description: "`CACHE_ADMIN_TOKEN` (the purge exists only with it).",
    },
  },
};
