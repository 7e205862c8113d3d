/**
 * The OpenAPI 3.1 document of the service, assembled from the fragments the
 * route groups declare next to their handlers (`routes/<group>/openapi.ts`):
 * each gives its operation descriptions keyed by `"METHOD /pattern"`, its
 * tags, and the components it owns (zod schemas, headers, responses,
 * security schemes). This module adds `info`, `servers` and the default
 * security, turns the zod schemas into JSON Schema (`z.toJSONSchema`, one
 * registry, so a schema used inside another becomes a `$ref`), and checks
 * that routes and descriptions agree: a route without a description, a
 * description without a route (other than the optional ones), a path
 * parameter the pattern and the description disagree on, a repeated
 * `operationId` or a component declared twice makes it throw, so a test
 * catches any drift.
 *
 * `HEAD` beside every `GET` and `OPTIONS` on every path, which the router
 * serves itself, are added from the same table (`openapi_implied.ts`).
 *
 * @example Usage
 * ```ts ignore
 * const doc = openApiDocument(app.router.routes, { fragments });
 * console.log(Object.keys(doc.paths)); // ["/", "/healthz", ..., "/posts/{id}", ...]
 * ```
 *
 * @module
 */

import { z } from "zod";
import denoJson from "../../deno.json" with { type: "json" };
import { IMPLIED_RESPONSES, withImpliedOperations } from "./openapi_implied.ts";
import type {
  Components,
  HeaderObject,
  JsonSchema,
  OpenApiDocument,
  OperationDescription,
  OperationObject,
  ParameterObject,
  ResponseObject,
  RouteShape,
  TagObject,
} from "./openapi_types.ts";

export type * from "./openapi_types.ts";

/** What a route group declares next to its handlers. */
export interface ApiFragment {
  /** Its tags, in display order. */
  readonly tags?: readonly TagObject[];
  /** Its operations, keyed by `"METHOD /pattern"` as in the route table. */
  readonly operations: Readonly<Record<string, OperationDescription>>;
  /** Keys of `operations` whose route exists only in some builds. */
  readonly optional?: readonly string[];
  /** Body schemas it owns, by component name. */
  readonly schemas?: Readonly<Record<string, z.ZodType>>;
  /** Response headers it owns, by component name. */
  readonly headers?: Readonly<Record<string, HeaderObject>>;
  /** Responses it owns, by component name. */
  readonly responses?: Readonly<Record<string, ResponseObject>>;
  /** Security schemes it owns. */
  readonly securitySchemes?: Readonly<Record<string, JsonSchema>>;
}

/** Options of {@linkcode openApiDocument}. */
export interface OpenApiOptions {
  /** The fragments of the route groups. @default {[]} */
  fragments?: readonly ApiFragment[];
  /** Operation descriptions instead of the fragments' ones. */
  operations?: Readonly<Record<string, OperationDescription>>;
  /** Description keys allowed to have no route, instead of the fragments'. */
  optional?: ReadonlySet<string>;
  /** `info.title`. @default {"async-api"} */
  title?: string;
  /** `info.version`. @default {the version in deno.json} */
  version?: string;
}

const DESCRIPTION = "A cached front for the JSONPlaceholder API and a " +
  "streaming upload service.\n\n" +
  "- `HEAD` works wherever `GET` does: the same status and headers, no " +
  "body; `Content-Length` only when it is the size `GET` sends.\n" +
  "- An unknown path is 404; a known path with another method is 405 with " +
  "`Allow` (JSONPlaceholder answers 404 `{}`, and takes a `POST` with " +
  "`X-HTTP-Method-Override` as the method named, which is not honoured " +
  "here). `OPTIONS` on a known path is 204 with `Allow`.\n" +
  "- CORS: pages on any origin may call every route. A request with " +
  "`Origin` gets `Access-Control-Allow-Origin: *` and " +
  "`Access-Control-Expose-Headers`, errors too; preflights get 204 with " +
  "the path's methods, the requested headers and " +
  "`Access-Control-Max-Age: 7200`. Every answer says `Vary: Origin`. " +
  "There is no `Access-Control-Allow-Credentials` (JSONPlaceholder " +
  "reflects the `Origin` with it): a browser refuses a call made with " +
  'credentials (`credentials: "include"`); this API has none.\n' +
  "- Every error is an RFC 9457 `application/problem+json` body, but " +
  "for the upstream's own answer to a JSONPlaceholder write, passed on " +
  "as it is.\n" +
  "- Every answer carries `X-Request-Id` (the client's, when well-formed).";

/**
 * The JSON Schema of one zod schema, as OpenAPI 3.1 embeds it (no
 * `$schema`). `io: "input"` describes what a client may send (a field with
 * a default is optional), `"output"` what the service answers.
 */
export function jsonSchemaOf(
  schema: z.ZodType,
  io: "input" | "output" = "output",
): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io });
  return rest;
}

/**
 * The component schemas of `schemas`, converted together: a schema used
 * inside another one is a `$ref` to its component.
 */
export function componentSchemas(
  schemas: Readonly<Record<string, z.ZodType>>,
): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) {
    registry.add(schema, { id });
  }
  const converted = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  return Object.fromEntries(
    Object.entries(converted).map(([id, schema]) => {
      const { $schema: _, $id: __, ...rest } = schema as JsonSchema;
      return [id, rest];
    }),
  );
}

/** The merged declarations of `fragments`; a name declared twice throws. */
export function mergeFragments(fragments: readonly ApiFragment[]): {
  operations: Record<string, OperationDescription>;
  optional: Set<string>;
  tags: TagObject[];
  schemas: Record<string, z.ZodType>;
  components: Omit<Components, "schemas">;
} {
  const merged = {
    operations: {} as Record<string, OperationDescription>,
    optional: new Set<string>(),
    tags: [] as TagObject[],
    schemas: {} as Record<string, z.ZodType>,
    components: { headers: {}, responses: {}, securitySchemes: {} },
  };
  const add = <T>(into: Record<string, T>, from = {}, kind: string) => {
    for (const [name, value] of Object.entries(from as Record<string, T>)) {
      if (name in into && into[name] !== value) {
        throw new Error(`${kind} ${name} is declared by two fragments`);
      }
      into[name] = value;
    }
  };
  for (const fragment of fragments) {
    add(merged.operations, fragment.operations, "operation");
    add(merged.schemas, fragment.schemas, "schema");
    add(merged.components.headers, fragment.headers, "header");
    add(merged.components.responses, fragment.responses, "response");
    add(
      merged.components.securitySchemes,
      fragment.securitySchemes,
      "security scheme",
    );
    for (const key of fragment.optional ?? []) merged.optional.add(key);
    merged.tags.push(...fragment.tags ?? []);
  }
  return merged;
}

const PARAM = /:([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * The OpenAPI path template of a URLPattern pathname: `/posts/:id` ->
 * `/posts/{id}`. Throws a `TypeError` for pattern syntax OpenAPI cannot
 * express (wildcards, regular expressions, optional or repeated groups).
 */
export function openApiPath(pattern: string): string {
  const path = pattern.replace(PARAM, "{$1}");
  if (/[*()?+:\\]/.test(path)) {
    throw new TypeError(`Cannot express the pattern in OpenAPI: ${pattern}`);
  }
  return path;
}

/** The `:name` parameters of a URLPattern pathname, in order. */
function patternParameters(pattern: string): string[] {
  return [...pattern.matchAll(PARAM)].map((m) => m[1]!);
}

/** The key of a route in the description table: `"GET /posts/:id"`. */
export function operationKey(route: RouteShape): string {
  return `${route.method.toUpperCase()} ${route.pattern}`;
}

/** The path parameters of `route`, or why they disagree with `description`. */
function pathParameters(
  route: RouteShape,
  description: OperationDescription,
): ParameterObject[] | string {
  const names = patternParameters(route.pattern);
  const described = Object.keys(description.pathParameters ?? {});
  const missing = names.filter((name) => !described.includes(name));
  const extra = described.filter((name) => !names.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    return `${
      operationKey(route)
    }: path parameters [${names}] but described [${described}]`;
  }
  return names.map((name) => {
    const { description: text, schema, example } = description
      .pathParameters![name]!;
    return {
      name,
      in: "path",
      required: true,
      description: text,
      schema,
      ...(example === undefined ? {} : { example }),
    };
  });
}

/**
 * The sentences saying the query parameters `description` refuses by name
 * (its `refusedQuery`), or `undefined` for none.
 */
function refusalNote(description: OperationDescription): string | undefined {
  const refused = Object.entries(description.refusedQuery ?? {});
  if (refused.length === 0) return undefined;
  const declared = (description.parameters ?? []).some((p) => p.in === "query");
  return refused.map(([name, why]) =>
    name === "*"
      ? `Any query parameter${declared ? " not declared" : ""} is 400: ${why}.`
      : `\`${name}\` is 400: ${why}.`
  ).join(" ");
}

/** The document's operation for `route`, described by `description`. */
function operationObject(
  description: OperationDescription,
  parameters: ParameterObject[],
): OperationObject {
  const operation: OperationObject = {
    operationId: description.operationId,
    summary: description.summary,
    tags: [...description.tags],
    parameters: [...parameters, ...(description.parameters ?? [])],
    responses: { ...description.responses },
  };
  const text = [description.description, refusalNote(description)]
    .filter((part) => part !== undefined).join(" ");
  if (text !== "") operation.description = text;
  if (description.requestBody !== undefined) {
    operation.requestBody = description.requestBody;
  }
  if (description.security !== undefined) {
    operation.security = description.security.map((requirement) =>
      Object.fromEntries(
        Object.entries(requirement).map(([name, scopes]) => [name, [
          ...scopes,
        ]]),
      )
    );
  }
  return operation;
}

/** The paths of `routes`; every disagreement is pushed onto `errors`. */
function pathsOf(
  routes: readonly RouteShape[],
  operations: Readonly<Record<string, OperationDescription>>,
  errors: string[],
): { paths: OpenApiDocument["paths"]; used: Set<string> } {
  const used = new Set<string>();
  const operationIds = new Set<string>();
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const key = operationKey(route);
    const description = operations[key];
    if (description === undefined) {
      errors.push(`route ${key} has no operation description`);
      continue;
    }
    if (used.has(key)) {
      errors.push(`route ${key} appears twice`);
      continue;
    }
    used.add(key);
    if (operationIds.has(description.operationId)) {
      errors.push(`operationId ${description.operationId} is not unique`);
    }
    operationIds.add(description.operationId);
    const parameters = pathParameters(route, description);
    if (typeof parameters === "string") {
      errors.push(parameters);
      continue;
    }
    try {
      const path = openApiPath(route.pattern);
      (paths[path] ??= {})[route.method.toLowerCase()] = operationObject(
        description,
        parameters,
      );
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  return { paths, used };
}

/**
 * Builds the OpenAPI 3.1 document of `routes` from the fragments.
 *
 * Throws an `Error` listing every disagreement between the routes and the
 * descriptions: a route with no description, a description with no route
 * (unless optional), path parameters that differ, or a repeated
 * `operationId`.
 */
export function openApiDocument(
  routes: readonly RouteShape[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  const merged = mergeFragments(options.fragments ?? []);
  const {
    operations = merged.operations,
    optional = merged.optional,
    title = "async-api",
    version = denoJson.version,
  } = options;
  const errors: string[] = [];
  const routed = pathsOf(routes, operations, errors);
  const { used } = routed;
  for (const key of Object.keys(operations)) {
    if (!used.has(key) && !optional.has(key)) {
      errors.push(`operation description ${key} has no route`);
    }
  }
  if (errors.length > 0) {
    throw new Error(
      `The OpenAPI descriptions disagree with the route table:\n- ${
        errors.join("\n- ")
      }`,
    );
  }
  const responses = { ...merged.components.responses, ...IMPLIED_RESPONSES };
  const paths = withImpliedOperations(routed.paths, responses);
  const ops = Object.values(paths).flatMap((item) => Object.values(item));
  const usedTags = new Set(ops.flatMap((op) => op.tags));
  // Only the schemes an operation names: without CACHE_ADMIN_TOKEN the
  // purge is absent, and its scheme left alone is an unused component.
  const usedSchemes = new Set(
    ops.flatMap((op) => (op.security ?? []).flatMap(Object.keys)),
  );
  // A deep copy: callers may change the document without touching the
  // fragments (and the shared objects are not aliased in the JSON).
  return structuredClone({
    openapi: "3.1.0",
    info: { title, version, description: DESCRIPTION },
    servers: [{ url: "/", description: "This service (same origin)" }],
    tags: merged.tags.filter((tag) => usedTags.has(tag.name)),
    security: [],
    paths,
    components: {
      schemas: componentSchemas(merged.schemas),
      responses,
      headers: merged.components.headers,
      securitySchemes: Object.fromEntries(
        Object.entries(merged.components.securitySchemes)
          .filter(([name]) => usedSchemes.has(name)),
      ),
    },
  });
}
