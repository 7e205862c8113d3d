/**
 * Building blocks of the OpenAPI fragments the route groups declare:
 * `$ref`s, JSON and problem bodies, the parameters every group uses, query
 * parameters made from a zod object (so the document and the query check
 * of `services/http/parameters.ts` read the same schema), and
 * {@linkcode COMMON_FRAGMENT}: the components every group refers to (the
 * problem schema, the request id and caching headers, the default error).
 *
 * @module
 */

import { z } from "zod";
import { ProblemSchema } from "../http/problem_schema.ts";
import { type ApiFragment, jsonSchemaOf } from "./openapi.ts";
import type {
  JsonSchema,
  MediaTypeObject,
  OperationDescription,
  ParameterObject,
  Reference,
  ResponseObject,
} from "./openapi_types.ts";

/** The media type of JSON bodies. */
export const JSON_TYPE = "application/json";
/** The media type of RFC 9457 problem bodies. */
export const PROBLEM_TYPE = "application/problem+json";

const ref = (kind: string, name: string): Reference => ({
  $ref: `#/components/${kind}/${name}`,
});

/** A `$ref` to a component schema. */
export function schemaRef(name: string): JsonSchema {
  return { ...ref("schemas", name) };
}

/** A `$ref` to a component header. */
export function headerRef(name: string): Reference {
  return ref("headers", name);
}

/** A `$ref` to a component response. */
export function responseRef(name: string): Reference {
  return ref("responses", name);
}

/** A JSON body of `schema`. */
export function json(schema: JsonSchema): Record<string, MediaTypeObject> {
  return { [JSON_TYPE]: { schema } };
}

/** A list of the component schema `name`. */
export function listOf(name: string): JsonSchema {
  return { type: "array", items: schemaRef(name) };
}

/**
 * The headers every answer carries (named `REQUEST_ID_HEADER` while it
 * held the request id alone): its request id, and `nosniff`, which
 * the JSONPlaceholder reads from the cache go without (routes/finish.ts;
 * theirs name `X-Request-Id` alone).
 */
export const COMMON_HEADERS = {
  "X-Request-Id": headerRef("XRequestId"),
  "X-Content-Type-Options": headerRef("XContentTypeOptions"),
} as const;

/** The headers of an answer that no cache keeps (`no-store`, `no-cache`). */
export const UNCACHED_HEADERS = {
  "Cache-Control": headerRef("CacheControl"),
  ...COMMON_HEADERS,
} as const;

/** The headers of an HTML page: its caching and its browser policies. */
export const PAGE_HEADERS = {
  ...UNCACHED_HEADERS,
  "Content-Security-Policy": headerRef("ContentSecurityPolicy"),
  "Referrer-Policy": headerRef("ReferrerPolicy"),
} as const;

/** The headers of a page's script or stylesheet. */
export const ASSET_HEADERS = UNCACHED_HEADERS;

/** Any other error: a problem response. */
export const DEFAULT_ERROR = { default: responseRef("Error") } as const;

/** A problem response meaning `description`. */
export function problemResponse(description: string): ResponseObject {
  return {
    description,
    headers: UNCACHED_HEADERS,
    content: { [PROBLEM_TYPE]: { schema: schemaRef("Problem") } },
  };
}

/** A problem response that says when to try again (`Retry-After`). */
export function retryLater(description: string): ResponseObject {
  return {
    ...problemResponse(description),
    headers: { "Retry-After": headerRef("RetryAfter"), ...UNCACHED_HEADERS },
  };
}

/** The conditional-GET request header. */
export const IF_NONE_MATCH: ParameterObject = {
  name: "If-None-Match",
  in: "header",
  description: "An `ETag` from an earlier answer: 304 when it still matches.",
  schema: { type: "string" },
};

/** The conditional-GET request header by date, of a page or document. */
const IF_MODIFIED_SINCE: ParameterObject = {
  name: "If-Modified-Since",
  in: "header",
  description: "A `Last-Modified` from an earlier answer: 304 when the " +
    "text has not changed since (ignored beside `If-None-Match`).",
  schema: { type: "string" },
};

/**
 * The `If-Match` request header of a resource with a strong `ETag`
 * (`services/http/conditional.ts`).
 */
export const IF_MATCH: ParameterObject = {
  name: "If-Match",
  in: "header",
  description: "412 unless the current version has one of these `ETag`s " +
    "(strong comparison: a weak `W/` tag never matches) or the value is `*`. " +
    "An answer whose tag it names is sent without `Content-Encoding`, under " +
    "that tag, whatever `Accept-Encoding` says.",
  schema: { type: "string" },
};

/** The 412 of a failed precondition, with the current `ETag`. */
export function preconditionFailedResponse(
  description: string,
): ResponseObject {
  return {
    ...problemResponse(description),
    headers: { "ETag": headerRef("ETag"), ...UNCACHED_HEADERS },
  };
}

/** What {@linkcode staticTextOperation} describes. */
export interface StaticTextDescription {
  /** Unique across the document. */
  operationId: string;
  /** One line. */
  summary: string;
  /** Longer Markdown text. */
  description: string;
  /** Groups in the docs UI. */
  tags: readonly string[];
  /** What the 200 says it is. */
  what: string;
  /** The 200's body. */
  content: Record<string, MediaTypeObject>;
  /** The headers besides `ETag` (a page's or an asset's). */
  headers: Record<string, Reference>;
}

/**
 * The operation of a page, asset or document served as it is
 * (`services/http/static_text.ts`): a 200 with a strong `ETag` and the
 * text's date as `Last-Modified`, revalidated at each use, a 304 to an
 * `If-None-Match` naming it or an `If-Modified-Since` not before that date,
 * and a 412 to an `If-Match` that does not.
 */
export function staticTextOperation(
  { what, content, headers, ...operation }: StaticTextDescription,
): OperationDescription {
  const tagged = {
    "ETag": headerRef("ETag"),
    "Last-Modified": headerRef("ServedSince"),
    ...headers,
  };
  return {
    ...operation,
    parameters: [IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_MATCH],
    responses: {
      "200": {
        description: `${what} (revalidated at each use).`,
        headers: tagged,
        content,
      },
      "304": { description: "Not modified.", headers: tagged },
      "412": preconditionFailedResponse("`If-Match` names another version."),
      ...DEFAULT_ERROR,
    },
  };
}

/** A request header whose value is free text. */
export function textHeader(name: string, description: string): ParameterObject {
  return { name, in: "header", description, schema: { type: "string" } };
}

/**
 * The query parameters of a zod object, in its order: each property's
 * JSON Schema (as a client may send it) and its description. A property
 * without a description gets `describe(name)`.
 */
export function queryParameters(
  query: z.ZodObject,
  describe?: (name: string) => string,
): ParameterObject[] {
  const schema = jsonSchemaOf(query, "input") as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as { description?: string };
    const text = description ?? describe?.(name);
    return {
      name,
      in: "query",
      ...(text === undefined ? {} : { description: text }),
      ...(schema.required?.includes(name) ? { required: true } : {}),
      schema: rest,
    };
  });
}

const string = { type: "string" } as const;

/** The components every route group refers to. */
export const COMMON_FRAGMENT: ApiFragment = {
  operations: {},
  schemas: { Problem: ProblemSchema },
  headers: {
    ETag: {
      description: "Validator of the body, strong, or weak (`W/`) to a " +
        "client that takes br or gzip; send it as `If-None-Match`.",
      schema: string,
    },
    CacheControl: {
      description: "`public, max-age=<freshness lifetime>` for cached " +
        "reads (`CACHE_TTL_SECONDS`; the answer is fresh while `max-age` " +
        "exceeds `Age`; `max-age=0` on a stale answer), `no-store` for " +
        "errors, partial answers and what changes at every request, " +
        "`no-cache` for pages, their assets and documents, revalidated at " +
        "each use (they change with a release under the same URL).",
      schema: string,
    },
    ServedSince: {
      description: "When this text was made, as an HTTP-date: a page's " +
        "or an asset's recorded with its content (the same from every " +
        "instance and restart), `/openapi.json`'s the service's start, " +
        "sent from the second after it on (a strong validator, RFC 9110 " +
        "8.8.2.2). Send it back as `If-Modified-Since` (`wget -N`, " +
        "`curl -z`).",
      schema: string,
    },
    ContentSecurityPolicy: {
      description: "What the page may load and run: only this origin's " +
        "own scripts and styles.",
      schema: string,
    },
    ReferrerPolicy: {
      description: "`no-referrer`: the page's links tell no one where " +
        "they came from.",
      schema: string,
    },
    XContentTypeOptions: {
      description: "`nosniff`: a browser takes the `Content-Type` as sent.",
      schema: string,
    },
    AcceptRequestEncoding: {
      description: "The codings a body is taken in: `gzip, deflate` " +
        "(besides none).",
      schema: string,
    },
    Allow: {
      description: "On a 405: the methods the path takes.",
      schema: string,
    },
    XRequestId: {
      description: "The request's id: the client's `X-Request-Id` when " +
        "well-formed (1-128 of `[A-Za-z0-9._:-]`), else a fresh one.",
      schema: string,
    },
    ServerTiming: {
      description: "Where the time went: the cache lookup and the upstream " +
        "fetch for JSONPlaceholder reads; reader wait/blocked and writer " +
        "write/idle times for uploads.",
      schema: string,
    },
    RetryAfter: {
      description: "Seconds to wait before trying again.",
      schema: { type: "integer", minimum: 0 },
    },
  },
  responses: {
    Error: {
      ...problemResponse(
        "Any other error, e.g. 405 (with `Allow`) or 500. Every error is a " +
          "problem response.",
      ),
      headers: { "Allow": headerRef("Allow"), ...UNCACHED_HEADERS },
    },
  },
};
