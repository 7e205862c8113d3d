/**
 * The service's OpenAPI document: the fragments each route group declares
 * next to its handlers (`jsonplaceholder/openapi.ts`, `files/openapi.ts`,
 * `ops/openapi.ts`) and the shared components, assembled by
 * `services/ops/openapi.ts`. The query check of the pipeline
 * (`query_check.ts`) reads the same operation descriptions.
 *
 * @module
 */

import {
  type ApiFragment,
  mergeFragments,
  type OpenApiDocument,
  openApiDocument as assemble,
  type OpenApiOptions,
  type OperationDescription,
  type RouteShape,
} from "../services/ops/openapi.ts";
import { COMMON_FRAGMENT } from "../services/ops/openapi_parts.ts";
import { filesDocs } from "./files/openapi.ts";
import { progressDocs } from "./files/progress_openapi.ts";
import { jsonPlaceholderDocs } from "./jsonplaceholder/openapi.ts";
import { jsonPlaceholderWriteDocs } from "./jsonplaceholder/writes_openapi.ts";
import { opsDocs } from "./ops/openapi.ts";

export type * from "../services/ops/openapi_types.ts";
export { openApiPath } from "../services/ops/openapi.ts";

/** Every fragment, in the order the docs UI lists their tags. */
export const API_FRAGMENTS: readonly ApiFragment[] = [
  COMMON_FRAGMENT,
  jsonPlaceholderDocs,
  jsonPlaceholderWriteDocs,
  filesDocs,
  progressDocs,
  opsDocs,
];

const merged = mergeFragments(API_FRAGMENTS);

/**
 * The description of every operation of the service, keyed by
 * `"METHOD /pattern"` exactly as in the route table.
 */
export const OPERATIONS: Readonly<Record<string, OperationDescription>> =
  merged.operations;

/**
 * Description keys that may have no route: the document includes them only
 * when the route exists.
 */
export const OPTIONAL_OPERATIONS: ReadonlySet<string> = merged.optional;

/**
 * The OpenAPI 3.1 document of `routes`, from {@linkcode API_FRAGMENTS};
 * `options` may replace the operations (tests of the agreement check).
 */
export function openApiDocument(
  routes: readonly RouteShape[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  return assemble(routes, { fragments: API_FRAGMENTS, ...options });
}
