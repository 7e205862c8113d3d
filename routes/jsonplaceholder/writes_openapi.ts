/**
 * The OpenAPI fragment of the JSONPlaceholder writes (`writes.ts`):
 * `POST /<resource>` and `PUT`/`PATCH`/`DELETE /<resource>/:id` for every
 * resource, `POST /<parent>/:id/<child>` for every nested collection, with
 * the request and answer bodies of `write_schemas.ts` (every field
 * optional, of its type; others allowed: the upstream decides what it
 * keeps).
 *
 * @module
 */

import type { z } from "zod";
import type {
  ApiFragment,
  OperationDescription,
  ResponseObject,
} from "../../services/ops/openapi.ts";
import {
  COMMON_HEADERS,
  DEFAULT_ERROR,
  headerRef,
  json,
  PROBLEM_TYPE,
  problemResponse,
  responseRef,
  schemaRef,
  UNCACHED_HEADERS,
} from "../../services/ops/openapi_parts.ts";
import { capital, POSITIVE_ID } from "./openapi.ts";
import { NESTED, RESOURCE_INFO, RESOURCES } from "./resources.ts";
import { WRITE_SCHEMAS } from "./write_schemas.ts";

type Resource = typeof RESOURCES[number];

const PASSED_THROUGH = "Passed through to the upstream, never cached; the " +
  "upstream's status, body, `Content-Type`, `Location` and " +
  "`Content-Location` come back as they are (a `Location` into the " +
  "upstream is made relative, so it leads here), but for a 5xx (502) and " +
  "an answer this document does not promise: a body that is not a JSON " +
  "object (an HTML page, garbage, none, an array), a 2xx whose fields " +
  "are not of the schema below, a 204, 205 or 304, a redirect with no " +
  "`Location` or one out of the upstream: 502 after a 2xx or 3xx, the " +
  "upstream's status after a 4xx, as problem+json with `upstreamStatus`. " +
  "A redirect into the upstream passes on. A success (2xx, 3xx) " +
  "first drops the cached reads it made stale (RFC 9111 4.4): the item, " +
  "the collection with every query, the nested lists holding the " +
  "resource, lists that `_embed` or `_expand` it, and the `Location`. " +
  "Retried only for PUT and DELETE, and only when no connection could be " +
  "opened. JSONPlaceholder fakes writes: it answers as if it stored them, " +
  "and keeps nothing.";

const BODY_NOTE = "The body is a JSON object of at most `WRITE_MAX_BYTES`, " +
  "sent as `application/json`, its fields of the schema's types (400 " +
  "otherwise, nothing sent; others pass). JSONPlaceholder also takes an " +
  "urlencoded form, any other type or no body (ignored: only an id is " +
  "given), an empty body and an array; here those are 415 or 400, " +
  "nothing sent upstream.";

/** Request and answer bodies of one resource's writes. */
function bodySchemas(resource: Resource): Record<string, z.ZodType> {
  const { name } = RESOURCE_INFO[resource];
  const { input, written } = WRITE_SCHEMAS[resource];
  return { [`${name}Input`]: input, [`${name}Written`]: written };
}

function written(resource: Resource, description: string): ResponseObject {
  return {
    description,
    headers: {
      "Cache-Control": headerRef("CacheControl"),
      ...COMMON_HEADERS,
    },
    content: json(schemaRef(`${RESOURCE_INFO[resource].name}Written`)),
  };
}

const WRITE_ERRORS = {
  "404": responseRef("UpstreamAnswer"),
  "502": responseRef("BadGateway"),
  "503": responseRef("UpstreamBusy"),
  "504": responseRef("GatewayTimeout"),
  ...DEFAULT_ERROR,
} as const;

const BODY_ERRORS = {
  "400": responseRef("InvalidWrite"),
  "408": responseRef("WriteTimeout"),
  "413": responseRef("WriteTooLarge"),
  "415": responseRef("NotJson"),
  "431": responseRef("TrailerFlood"),
  "501": problemResponse(
    "The body's `Transfer-Encoding` names a coding besides `chunked` " +
      "(`gzip, chunked`), which is not decoded (RFC 9112 6.1): send it " +
      "chunked only, a coding of the content in `Content-Encoding`; " +
      "nothing sent upstream.",
  ),
} as const;

function requestBody(resource: Resource, description: string) {
  return {
    description: `${description} ${BODY_NOTE}`,
    required: true,
    content: json(schemaRef(`${RESOURCE_INFO[resource].name}Input`)),
  };
}

/** `POST /<resource>`. */
function createOperation(resource: Resource): OperationDescription {
  const { noun } = RESOURCE_INFO[resource];
  return {
    operationId: `create${capital(noun)}`,
    summary: `Create a ${noun}`,
    description: `${PASSED_THROUGH} JSONPlaceholder answers 201 with ` +
      `the body and a new id (always the next one: it keeps nothing).`,
    tags: [resource],
    requestBody: requestBody(resource, `The new ${noun}.`),
    responses: {
      "201": {
        ...written(resource, `The upstream's answer: the ${noun}.`),
        headers: {
          "Location": headerRef("WriteLocation"),
          "Cache-Control": headerRef("CacheControl"),
          ...COMMON_HEADERS,
        },
      },
      ...BODY_ERRORS,
      ...WRITE_ERRORS,
    },
  };
}

/** `POST /<parent>/:id/<child>`: a create with the parent's id set. */
function nestedCreateOperation(
  parent: Resource,
  child: Resource,
): OperationDescription {
  const { noun } = RESOURCE_INFO[child];
  const owner = RESOURCE_INFO[parent].noun;
  const create = createOperation(child);
  return {
    ...create,
    operationId: `create${capital(owner)}${capital(noun)}`,
    summary: `Create a ${noun} of a ${owner}`,
    description: `${PASSED_THROUGH} JSONPlaceholder answers 201 with ` +
      `the body, \`${owner}Id\` set to \`id\` and a new id.`,
    tags: [parent],
    pathParameters: { id: POSITIVE_ID },
    requestBody: requestBody(child, `The new ${noun}.`),
  };
}

/** `POST /<resource>` and `PUT`/`PATCH`/`DELETE /<resource>/:id`. */
function writeOperations(
  resource: Resource,
): Record<string, OperationDescription> {
  const { noun } = RESOURCE_INFO[resource];
  const item = { tags: [resource], pathParameters: { id: POSITIVE_ID } };
  return {
    [`POST /${resource}`]: createOperation(resource),
    [`PUT /${resource}/:id`]: {
      operationId: `replace${capital(noun)}`,
      summary: `Replace a ${noun}`,
      description: PASSED_THROUGH,
      ...item,
      requestBody: requestBody(resource, `The ${noun}'s new fields.`),
      responses: {
        "200": written(resource, `The upstream's answer: the ${noun}.`),
        ...BODY_ERRORS,
        ...WRITE_ERRORS,
      },
    },
    [`PATCH /${resource}/:id`]: {
      operationId: `update${capital(noun)}`,
      summary: `Update fields of a ${noun}`,
      description: PASSED_THROUGH,
      ...item,
      requestBody: requestBody(resource, "The fields to change."),
      responses: {
        "200": written(resource, `The upstream's answer: the ${noun}.`),
        ...BODY_ERRORS,
        ...WRITE_ERRORS,
      },
    },
    [`DELETE /${resource}/:id`]: {
      operationId: `delete${capital(noun)}`,
      summary: `Delete a ${noun}`,
      description: `${PASSED_THROUGH} No body is sent.`,
      ...item,
      responses: {
        "200": {
          description: "The upstream's answer (JSONPlaceholder: `{}`).",
          headers: UNCACHED_HEADERS,
          content: json({ type: "object" }),
        },
        "400": responseRef("InvalidId"),
        ...WRITE_ERRORS,
      },
    },
  };
}

/** The JSONPlaceholder writes' part of the OpenAPI document. */
export const jsonPlaceholderWriteDocs: ApiFragment = {
  operations: Object.assign(
    {},
    ...RESOURCES.map(writeOperations),
    ...NESTED.map(([parent, child]) => ({
      [`POST /${parent}/:id/${child}`]: nestedCreateOperation(parent, child),
    })),
  ),
  schemas: Object.assign({}, ...RESOURCES.map(bodySchemas)),
  headers: {
    AcceptPost: {
      description: "The media type a `POST` takes: `application/json`.",
      schema: { type: "string" },
    },
    AcceptPatch: {
      description: "The media type a `PATCH` takes: `application/json`.",
      schema: { type: "string" },
    },
    WriteLocation: {
      description: "Where the upstream says the new item is, when it says " +
        "so (JSONPlaceholder does not).",
      schema: { type: "string" },
    },
  },
  responses: {
    UpstreamAnswer: {
      description: "The upstream's own answer, status and body as they " +
        "are (JSONPlaceholder: `{}` for an unknown id); other 4xx " +
        "statuses come back as they are too. A body that is not a JSON " +
        "object (an HTML error page) is not passed on: problem+json with " +
        "the same status and `upstreamStatus` instead.",
      headers: UNCACHED_HEADERS,
      content: {
        ...json({ type: "object" }),
        [PROBLEM_TYPE]: { schema: schemaRef("Problem") },
      },
    },
    InvalidWrite: problemResponse(
      "The id is not a positive integer, or the body is not a JSON object " +
        "(or nests more than 64 levels deep, or has a field of another " +
        "type than the resource's input schema), or comes with a " +
        "`Content-Range` (a piece; RFC 9110 14.5), or is coded and comes " +
        "as chunks averaging under 8 KiB faster than they are read " +
        "(`Chunks too small`; the connection is closed).",
    ),
    WriteTooLarge: problemResponse(
      "The body is larger than `WRITE_MAX_BYTES` (told by `Content-Length` " +
        "before any byte is read; the connection is closed).",
    ),
    WriteTimeout: problemResponse(
      "The body did not arrive whole within `HEADER_TIMEOUT_MS` (the " +
        "connection is closed).",
    ),
    TrailerFlood: problemResponse(
      "A chunked body's read waited 1 s or more while the server grew " +
        "64 MiB: header fields after its last chunk that do not end (the " +
        "connection is closed).",
    ),
    NotJson: {
      ...problemResponse(
        "The body was not sent as `application/json` (or another `+json` " +
          "type) in UTF-8, `Accept-Post` or `Accept-Patch` says so; or in " +
          "a `Content-Encoding` other than `gzip` or `deflate`, " +
          "`Accept-Encoding` names those.",
      ),
      headers: {
        "Accept-Post": headerRef("AcceptPost"),
        "Accept-Patch": headerRef("AcceptPatch"),
        "Accept-Encoding": headerRef("AcceptRequestEncoding"),
        ...UNCACHED_HEADERS,
      },
    },
  },
};
