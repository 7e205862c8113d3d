/**
 * The operations the router serves without a route of their own, declared
 * from the operations that imply them: `HEAD` wherever there is a `GET`
 * (routes/router.ts runs the `GET` handler, routes/head.ts drops the body)
 * and `OPTIONS` on every path (services/http/cors.ts: 204 with `Allow`, or
 * a CORS preflight's answer). OpenAPI 3.1 has both operations, and what
 * reads the document goes by what it lists: `prism proxy` answered 405 to
 * `HEAD` and `OPTIONS` on every path, and generated clients offer no call
 * for them. Made from the path items themselves, so there is no second
 * list to keep in step with the routes.
 *
 * @module
 */

import { PREFLIGHT_MAX_AGE_SECONDS } from "../http/cors.ts";
import { allowOf } from "../http/methods.ts";
import type {
  HeaderObject,
  OpenApiDocument,
  OperationObject,
  ParameterObject,
  Reference,
  ResponseObject,
} from "./openapi_types.ts";

// Every answer's but the cached reads' (routes/finish.ts).
const EVERY_ANSWER = {
  "X-Request-Id": { $ref: "#/components/headers/XRequestId" },
  "X-Content-Type-Options": {
    $ref: "#/components/headers/XContentTypeOptions",
  },
} as const;

const UNCACHED = {
  "Cache-Control": { $ref: "#/components/headers/CacheControl" },
  ...EVERY_ANSWER,
} as const;

const PROBLEM = {
  "application/problem+json": {
    schema: { $ref: "#/components/schemas/Problem" },
  },
} as const;

/**
 * The answers this module refers to: a malformed CORS preflight's 400
 * (every `OPTIONS`), and the 400 to a malformed `Host`, which the pipeline
 * gives on every path before routing (routes/pipeline.ts).
 */
export const IMPLIED_RESPONSES: Readonly<Record<string, ResponseObject>> = {
  BadHost: {
    description: "The `Host` header (or an absolute-form target) is not a " +
      "host and port, or the target's path has a backslash (RFC 9112 3.2).",
    headers: UNCACHED,
    content: PROBLEM,
  },
  InvalidPreflight: {
    description: "A CORS preflight (`Origin` and " +
      "`Access-Control-Request-Method`) whose method is no token, or whose " +
      "`Access-Control-Request-Headers` is not a list of at most 64 names; " +
      "or a malformed `Host`, as on every path.",
    headers: UNCACHED,
    content: PROBLEM,
  },
};

const PREFLIGHT_PARAMETERS: readonly ParameterObject[] = [
  {
    name: "Access-Control-Request-Method",
    in: "header",
    required: false,
    description: "With `Origin`, makes the request a CORS preflight: the " +
      "answer's `Access-Control-Allow-*` headers.",
    schema: { type: "string" },
    example: "PUT",
  },
  {
    name: "Access-Control-Request-Headers",
    in: "header",
    required: false,
    description: "The headers the preflighted request will send; " +
      "`Access-Control-Allow-Headers` names them back.",
    schema: { type: "string" },
    example: "content-type",
  },
];

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `/posts/{id}/comments` -> `PostsIdComments`; `/` -> `Root`. */
function pathName(path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((word) => word !== "");
  return words.length === 0 ? "Root" : words.map(upperFirst).join("");
}

/** `getPost` -> `headPost`, `listPosts` -> `headListPosts`. */
function headId(getId: string): string {
  const rest = /^get[A-Z]/.test(getId) ? getId.slice(3) : getId;
  return `head${upperFirst(rest)}`;
}

/** `response` without its body: what `HEAD` sends for the same status. */
function bodiless(
  response: ResponseObject | Reference,
  responses: Readonly<Record<string, ResponseObject>>,
): ResponseObject | Reference {
  const resolved = "$ref" in response
    ? responses[response.$ref.replace("#/components/responses/", "")]
    : response;
  // Not a component of the document (a test's own table): left as it is.
  if (resolved === undefined) return response;
  const { description, headers } = resolved;
  return headers === undefined ? { description } : { description, headers };
}

/** The `HEAD` operation of `get`: its parameters, its answers' headers. */
function headOperation(
  get: OperationObject,
  responses: Readonly<Record<string, ResponseObject>>,
): OperationObject {
  const head: OperationObject = {
    operationId: headId(get.operationId),
    summary: `${get.summary} (headers only)`,
    description: "`GET` without the body: the same status and headers. " +
      "`Content-Length` is sent only when it is the size `GET` sends.",
    tags: [...get.tags],
    parameters: [...get.parameters],
    responses: Object.fromEntries(
      Object.entries(get.responses).map((
        [status, response],
      ) => [status, bodiless(response, responses)]),
    ),
  };
  if (get.security !== undefined) head.security = get.security;
  return head;
}

function preflightHeaders(allow: string): Record<string, HeaderObject> {
  return {
    Allow: {
      description: "The methods the path takes.",
      required: true,
      schema: { type: "string", const: allow },
    },
    "Access-Control-Allow-Methods": {
      description: "On a preflight: the methods the path takes.",
      schema: { type: "string", const: allow },
    },
    "Access-Control-Allow-Headers": {
      description: "On a preflight that names headers: those headers.",
      schema: { type: "string" },
    },
    "Access-Control-Max-Age": {
      description: "On a preflight: how long a browser may keep it.",
      schema: { type: "integer", const: PREFLIGHT_MAX_AGE_SECONDS },
    },
  };
}

/** The `OPTIONS` operation of the path `path` taking `methods`. */
function optionsOperation(
  path: string,
  methods: readonly string[],
  first: OperationObject,
): OperationObject {
  const allow = allowOf(methods);
  return {
    operationId: `options${pathName(path)}`,
    summary: `The methods of ${path}; CORS preflights`,
    description: "204 with `Allow`. With `Origin` and " +
      "`Access-Control-Request-Method` it is a CORS preflight, answered " +
      "for any origin with the path's methods and the requested headers.",
    tags: [...first.tags],
    parameters: [
      ...first.parameters.filter((p) => p.in === "path"),
      ...PREFLIGHT_PARAMETERS,
    ],
    responses: {
      "204": {
        description: "The path's methods; on a preflight, what the page " +
          "may send.",
        headers: {
          ...preflightHeaders(allow),
          ...EVERY_ANSWER,
        },
      },
      "400": { $ref: "#/components/responses/InvalidPreflight" },
      default: { $ref: "#/components/responses/Error" },
    },
  };
}

/** `operation`, with the malformed `Host`'s 400 when it has no 400. */
function withBadHost(operation: OperationObject): OperationObject {
  if ("400" in operation.responses) return operation;
  const responses = {
    ...operation.responses,
    "400": { $ref: "#/components/responses/BadHost" },
  };
  return { ...operation, responses };
}

/**
 * `paths` with `HEAD` added beside every `GET` and `OPTIONS` on every path,
 * where the routes declare none, and the malformed `Host`'s 400 on every
 * operation that declares no 400 of its own. `responses` are the document's
 * component responses, which `HEAD` copies without their bodies.
 */
export function withImpliedOperations(
  paths: OpenApiDocument["paths"],
  responses: Readonly<Record<string, ResponseObject>>,
): OpenApiDocument["paths"] {
  const out: OpenApiDocument["paths"] = {};
  for (const [path, item] of Object.entries(paths)) {
    const next = Object.fromEntries(
      Object.entries(item).map(([method, op]) => [method, withBadHost(op)]),
    );
    if (next.get !== undefined && next.head === undefined) {
      next.head = headOperation(next.get, responses);
    }
    const first = Object.values(item)[0];
    if (first !== undefined && next.options === undefined) {
      next.options = optionsOperation(path, Object.keys(next), first);
    }
    out[path] = next;
  }
  return out;
}
