/**
 * The shapes of an OpenAPI 3.1 document as this service writes it: the
 * operation descriptions route groups declare ({@linkcode OperationDescription})
 * and the objects of the served document. Schemas themselves are JSON
 * Schema, made from zod schemas (`z.toJSONSchema`), never typed by hand.
 *
 * @module
 */

/** A JSON Schema (2020-12, the OpenAPI 3.1 dialect). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A `$ref` to another part of the document. */
export interface Reference {
  /** A JSON pointer into the document, e.g. `#/components/schemas/Post`. */
  readonly $ref: string;
}

/** An OpenAPI parameter (query or header; path parameters are derived). */
export interface ParameterObject {
  /** The parameter's name. */
  readonly name: string;
  /** Where it goes. */
  readonly in: "query" | "header" | "path";
  /** What it does. */
  readonly description?: string;
  /** Whether it must be given. */
  readonly required?: boolean;
  /** Its schema. */
  readonly schema: JsonSchema;
  /** An example value. */
  readonly example?: unknown;
}

/** How a path parameter of a pattern is described. */
export interface PathParameterDescription {
  /** What it names. */
  readonly description: string;
  /** Its schema. */
  readonly schema: JsonSchema;
  /** An example value. */
  readonly example?: unknown;
}

/** A response header. */
export interface HeaderObject {
  /** What it carries. */
  readonly description: string;
  /** Whether every answer of its status sends it. */
  readonly required?: boolean;
  /** Its schema. */
  readonly schema: JsonSchema;
}

/** A media type entry of a body. */
export interface MediaTypeObject {
  /** The body's schema. */
  readonly schema: JsonSchema;
}

/** An OpenAPI response. */
export interface ResponseObject {
  /** What the response means. */
  readonly description: string;
  /** Response headers by name. */
  readonly headers?: Readonly<Record<string, HeaderObject | Reference>>;
  /** Bodies by media type. */
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
}

/** An OpenAPI request body. */
export interface RequestBodyObject {
  /** What the body is. */
  readonly description: string;
  /** Whether a body is needed. */
  readonly required: boolean;
  /** Bodies by media type. */
  readonly content: Readonly<Record<string, MediaTypeObject>>;
}

/** The metadata of one operation, keyed by `"METHOD /pattern"`. */
export interface OperationDescription {
  /** Unique across the document. */
  readonly operationId: string;
  /** One line. */
  readonly summary: string;
  /** Longer Markdown text. */
  readonly description?: string;
  /** Groups in the docs UI. */
  readonly tags: readonly string[];
  /** One entry per `:name` of the pattern, no more and no fewer. */
  readonly pathParameters?: Readonly<Record<string, PathParameterDescription>>;
  /** Query and header parameters. */
  readonly parameters?: readonly ParameterObject[];
  /** The request body, if any. */
  readonly requestBody?: RequestBodyObject;
  /** Responses by status code (or `default`). */
  readonly responses: Readonly<Record<string, ResponseObject | Reference>>;
  /** Security requirements; `{}` in the list makes auth optional. */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  /**
   * Query parameters refused (400) whatever their value, by name, each
   * with why; `*` for every one the operation does not declare. The query
   * check enforces them and the document's description says them.
   */
  readonly refusedQuery?: Readonly<Record<string, string>>;
}

/** An operation as it appears in the document. */
export interface OperationObject {
  /** Unique across the document. */
  operationId: string;
  /** One line. */
  summary: string;
  /** Longer Markdown text. */
  description?: string;
  /** Groups in the docs UI. */
  tags: string[];
  /** Path, query and header parameters. */
  parameters: ParameterObject[];
  /** The request body, if any. */
  requestBody?: RequestBodyObject;
  /** Responses by status code (or `default`). */
  responses: Record<string, ResponseObject | Reference>;
  /** Security requirements. */
  security?: Record<string, string[]>[];
}

/** The OpenAPI 3.1 document. */
export interface OpenApiDocument {
  /** The OpenAPI version. */
  openapi: "3.1.0";
  /** Title, version and description. */
  info: { title: string; version: string; description: string };
  /** Where the API is: the same origin. */
  servers: { url: string; description?: string }[];
  /** Tag descriptions, in display order. */
  tags: { name: string; description: string }[];
  /**
   * Security of every operation that does not say otherwise: none (`[]`);
   * the upload and delete operations declare their optional bearer.
   */
  security: Record<string, string[]>[];
  /** Operations by OpenAPI path template, then lower-case method. */
  paths: Record<string, Record<string, OperationObject>>;
  /** Shared schemas, responses, headers and security schemes. */
  components: Components;
}

/** The part of a route the document needs (a `Route` of the router fits). */
export interface RouteShape {
  /** An HTTP method. */
  readonly method: string;
  /** A URLPattern pathname, e.g. `/posts/:id`. */
  readonly pattern: string;
}

/** The shared parts of the document, by kind and name. */
export interface Components {
  /** JSON Schemas of bodies. */
  schemas: Record<string, JsonSchema>;
  /** Responses used by several operations. */
  responses: Record<string, ResponseObject>;
  /** Response headers used by several responses. */
  headers: Record<string, HeaderObject>;
  /** How clients authenticate. */
  securitySchemes: Record<string, JsonSchema>;
}

/** A tag of the docs UI. */
export interface TagObject {
  /** The tag, as operations list it. */
  name: string;
  /** One line. */
  description: string;
}
