/**
 * The OpenAPI fragment of the JSONPlaceholder routes: every resource's
 * list and item, the nested lists and the summary, with the components
 * only they use (the item schemas, the RFC 9211 cache headers, the
 * upstream failures). Made from the declarations in `resources.ts`, so the
 * document lists exactly the resources the routes serve.
 *
 * @module
 */

import type {
  ApiFragment,
  OperationDescription,
  PathParameterDescription,
  ResponseObject,
} from "../../services/ops/openapi.ts";
import {
  DEFAULT_ERROR,
  headerRef,
  IF_MATCH,
  IF_NONE_MATCH,
  json,
  listOf,
  PROBLEM_TYPE,
  problemResponse,
  queryParameters,
  responseRef,
  schemaRef,
  UNCACHED_HEADERS,
} from "../../services/ops/openapi_parts.ts";
import { jsonSchemaOf } from "../../services/ops/openapi.ts";
import {
  IdSchema,
  ListQuerySchema,
  NESTED,
  RESOURCE_INFO,
  RESOURCES,
} from "./resources.ts";
import { READ_HEADERS, READ_RESPONSES } from "./openapi_components.ts";
import {
  READ_COMPONENTS,
  relationParameters,
  relationRefusals,
  UserSummarySchema,
} from "./read_schemas.ts";

/** Headers of every answer to a cached JSONPlaceholder read. */
const CACHE_HEADERS = {
  "Cache-Control": headerRef("CacheControl"),
  "Age": headerRef("Age"),
  "X-Accel-Expires": headerRef("XAccelExpires"),
  "Cache-Status": headerRef("CacheStatus"),
  "Server-Timing": headerRef("ServerTiming"),
  "X-Request-Id": headerRef("XRequestId"),
} as const;

/**
 * Those of a cached read's 404, a problem: a `Response`, so it says
 * `nosniff` too (the answers from the cache do not: routes/finish.ts).
 */
const CACHED_PROBLEM_HEADERS = {
  ...CACHE_HEADERS,
  "X-Content-Type-Options": headerRef("XContentTypeOptions"),
} as const;

/** The `:id` of the resources' paths. */
export const POSITIVE_ID: PathParameterDescription = {
  description: "A positive integer id (anything else is 400).",
  schema: jsonSchemaOf(IdSchema),
  example: 1,
};

const UPSTREAM_ERRORS = {
  "502": responseRef("BadGateway"),
  "503": responseRef("UpstreamBusy"),
  "504": responseRef("GatewayTimeout"),
} as const;

const FILTER_NOTE = "Any field of the resource filters by equality " +
  "(`?title=...`, repeat a name for OR), with the suffixes `_gte`, `_lte`, " +
  "`_ne` and `_like` (a regular expression) for other comparisons. " +
  "`q` searches every field; `_sort`/`_order`, `_start`/`_end`, `_limit` " +
  "and `_page` sort and page. A declared parameter outside its schema is " +
  "400, and so are a `_like` value that is no regular expression, " +
  "`callback` (JSONP is not served), and `q` given twice or with brackets " +
  "(one text) or `_expand` with brackets other than `[]`; otherwise the " +
  "query is passed to the " +
  "upstream as is (cached under the query sorted by name, a repeated " +
  "name's values in their order; `a[]` and `a[x]` are the name `a`, and " +
  "`a=b]=c` is the name `a=b]` with the value `c`, as json-server reads " +
  "them; the declared parameters are checked as read so: `_page=1]=2` is " +
  "no `_page`).";

const LIST_PARAMETERS = queryParameters(ListQuerySchema);

/** `posts` -> `Posts`, for operation ids. */
export const capital = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

const notModified = (what: string): ResponseObject => ({
  description: `Not modified: the ${what} still has the given \`ETag\`.`,
  headers: { "ETag": headerRef("ETag"), ...CACHE_HEADERS },
});

function cachedOk(
  description: string,
  schema: ReturnType<typeof listOf>,
): ResponseObject {
  return {
    description,
    headers: { "ETag": headerRef("ETag"), ...CACHE_HEADERS },
    content: json(schema),
  };
}

/** A cached list's 200: {@linkcode cachedOk} with its paging headers. */
function cachedList(
  description: string,
  schema: ReturnType<typeof listOf>,
): ResponseObject {
  const ok = cachedOk(description, schema);
  return {
    ...ok,
    headers: {
      ...ok.headers,
      "X-Total-Count": headerRef("XTotalCount"),
      "Link": headerRef("PageLinks"),
    },
  };
}

/** `refusedQuery` of the reads of `resource`'s items, if any. */
function refusals(
  resource: typeof RESOURCES[number],
): Pick<OperationDescription, "refusedQuery"> {
  const refused = relationRefusals(resource);
  return refused === undefined ? {} : { refusedQuery: refused };
}

/** `GET /<resource>` and `GET /<resource>/:id`. */
function resourceOperations(
  resource: typeof RESOURCES[number],
): Record<string, OperationDescription> {
  const info = RESOURCE_INFO[resource];
  const filters = queryParameters(
    info.filters,
    (name) => `Only ${resource} whose \`${name}\` equals this.`,
  );
  return {
    [`GET /${resource}`]: {
      operationId: `list${capital(resource)}`,
      summary: `List ${resource}`,
      description: `All ${resource}, through the cache. ${FILTER_NOTE}`,
      tags: [resource],
      parameters: [
        ...filters,
        ...LIST_PARAMETERS,
        ...relationParameters(resource),
        IF_NONE_MATCH,
        IF_MATCH,
      ],
      ...refusals(resource),
      responses: {
        "200": cachedList(`The ${resource}.`, listOf(info.name)),
        "304": notModified("list"),
        "400": responseRef("InvalidQuery"),
        "412": responseRef("PreconditionFailed"),
        "414": responseRef("TargetTooLong"),
        ...UPSTREAM_ERRORS,
        ...DEFAULT_ERROR,
      },
    },
    [`GET /${resource}/:id`]: {
      operationId: `get${capital(info.noun)}`,
      summary: `Get a ${info.noun}`,
      description: `One ${info.noun}, through the cache (a 404 is cached too).`,
      tags: [resource],
      pathParameters: { id: POSITIVE_ID },
      parameters: [...relationParameters(resource), IF_NONE_MATCH, IF_MATCH],
      ...refusals(resource),
      responses: {
        "200": cachedOk(`The ${info.noun}.`, schemaRef(info.name)),
        "304": notModified(info.noun),
        "400": responseRef("InvalidIdOrQuery"),
        "404": {
          description: `No ${info.noun} with this id.`,
          headers: CACHED_PROBLEM_HEADERS,
          content: { [PROBLEM_TYPE]: { schema: schemaRef("Problem") } },
        },
        "412": responseRef("PreconditionFailed"),
        "414": responseRef("TargetTooLong"),
        ...UPSTREAM_ERRORS,
        ...DEFAULT_ERROR,
      },
    },
  };
}

/** `GET /<parent>/:id/<child>`. */
function nestedOperation(
  parent: typeof RESOURCES[number],
  child: typeof RESOURCES[number],
): OperationDescription {
  const noun = RESOURCE_INFO[parent].noun;
  return {
    operationId: `list${capital(noun)}${capital(child)}`,
    summary: `List the ${child} of a ${noun}`,
    description: `The ${child} whose \`${noun}Id\` is \`id\` ` +
      `(an empty list for an unknown ${noun}), through the ` +
      `cache. ${FILTER_NOTE}`,
    tags: [parent],
    pathParameters: { id: POSITIVE_ID },
    parameters: [
      ...LIST_PARAMETERS,
      ...relationParameters(child),
      IF_NONE_MATCH,
      IF_MATCH,
    ],
    ...refusals(child),
    responses: {
      "200": cachedList(
        `The ${child}.`,
        listOf(RESOURCE_INFO[child].name),
      ),
      "304": notModified("list"),
      "400": responseRef("InvalidIdOrQuery"),
      "412": responseRef("PreconditionFailed"),
      "414": responseRef("TargetTooLong"),
      ...UPSTREAM_ERRORS,
      ...DEFAULT_ERROR,
    },
  };
}

const SUMMARY: OperationDescription = {
  operationId: "getUserSummary",
  summary: "A user with their posts, todos and albums",
  description: "Four cached lookups at once. 404 when the user does not " +
    "exist. When another part fails the answer is still 200, with that " +
    "part `null`, an `errors` entry naming it, and " +
    "`Cache-Control: no-store`.",
  tags: ["users"],
  pathParameters: { id: POSITIVE_ID },
  parameters: [IF_NONE_MATCH, IF_MATCH],
  // Its parts are whole lists: a filter or a page would apply to three
  // resources at once (todos and albums have a title too), and `_embed`
  // would add lists the summary's schema does not have. It ignored the
  // query and answered 200, so `?_limit=5` looked honoured.
  refusedQuery: {
    "*": "the summary's parts are whole lists; filter, page or embed " +
      "them at `/users/{id}/posts`, `/users/{id}/todos` and " +
      "`/users/{id}/albums`",
  },
  responses: {
    "200": {
      description: "The summary (possibly partial, see `errors`).",
      headers: {
        "ETag": headerRef("ETag"),
        "Cache-Control": headerRef("CacheControl"),
        "Age": headerRef("Age"),
        "X-Accel-Expires": headerRef("XAccelExpires"),
        "Server-Timing": headerRef("ServerTiming"),
        "X-Request-Id": headerRef("XRequestId"),
      },
      content: json(schemaRef("UserSummary")),
    },
    "304": {
      description: "Not modified: the summary still has the given `ETag`.",
      headers: {
        "ETag": headerRef("ETag"),
        "Cache-Control": headerRef("CacheControl"),
        "Age": headerRef("Age"),
        "X-Accel-Expires": headerRef("XAccelExpires"),
        "Server-Timing": headerRef("ServerTiming"),
        "X-Request-Id": headerRef("XRequestId"),
      },
    },
    "400": problemResponse(
      "The id is not a positive integer, or the request has a query (the " +
        "summary takes none).",
    ),
    // Sent `no-store` without the cache's headers: they were declared, as
    // the item's 404 sends them, and never came.
    "404": {
      ...problemResponse(
        "No user with this id (the upstream's 404, cached as the user's " +
          "item; this answer itself is not stored).",
      ),
      headers: UNCACHED_HEADERS,
    },
    "412": responseRef("PreconditionFailed"),
    ...UPSTREAM_ERRORS,
    ...DEFAULT_ERROR,
  },
};

function operations(): Record<string, OperationDescription> {
  const all: Record<string, OperationDescription> = {};
  for (const resource of RESOURCES) {
    Object.assign(all, resourceOperations(resource));
  }
  for (const [parent, child] of NESTED) {
    all[`GET /${parent}/:id/${child}`] = nestedOperation(parent, child);
  }
  all["GET /users/:id/summary"] = SUMMARY;
  return all;
}

/** The JSONPlaceholder routes' part of the OpenAPI document. */
export const jsonPlaceholderDocs: ApiFragment = {
  tags: RESOURCES.map((name) => ({
    name,
    description: `JSONPlaceholder ${name}, cached.`,
  })),
  operations: operations(),
  schemas: {
    ...READ_COMPONENTS,
    UserSummary: UserSummarySchema,
  },
  headers: READ_HEADERS,
  responses: READ_RESPONSES,
};
