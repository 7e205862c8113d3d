/**
 * The bodies of the JSONPlaceholder writes, made once from each
 * resource's item schema (`resources.ts`): what a write takes (every field
 * optional, of its type; others allowed: the upstream decides what it
 * keeps) and what a 2xx answer to it holds (the same, with an `id`). The
 * OpenAPI document declares them (`writes_openapi.ts`), the write routes
 * hold a request body (here, a 400) and the upstream's answer (`writes.ts`,
 * with `services/upstream/write_refusal.ts`) to them.
 *
 * @module
 */

import type { z } from "zod";
import { problem } from "../../services/http/problem.ts";
import { issuesText } from "../../services/http/schema_issues.ts";
import { type Resource, RESOURCE_INFO, RESOURCES } from "./resources.ts";

/** One resource's write bodies. */
export interface WriteSchemas {
  /**
   * A request body. The `id` is typed too, not left to `loose`: the
   * upstream (json-server) takes a created item's id from the body and
   * echoes it, so `{"id":"abc"}` came back as the answer's id.
   */
  readonly input: z.ZodObject;
  /** A 2xx answer's body: the fields the upstream echoed, and the id. */
  readonly written: z.ZodObject;
}

function schemasOf(resource: Resource): WriteSchemas {
  const input = RESOURCE_INFO[resource].schema.partial().loose();
  return { input, written: input.required({ id: true }) };
}

/** Every resource's write bodies. */
export const WRITE_SCHEMAS: Readonly<Record<Resource, WriteSchemas>> = Object
  .fromEntries(
    RESOURCES.map((resource) => [resource, schemasOf(resource)]),
  ) as Record<Resource, WriteSchemas>;

/**
 * The 400 for a write body not of `resource`'s input schema, or
 * `undefined`. The upstream echoes what it is sent (json-server does):
 * passed on, `{"userId":"abc"}` was written and came back as an answer
 * not of the document's schema, a 502 for what the client got wrong.
 */
export function inputRefusal(
  value: unknown,
  resource: Resource,
  instance: string,
): Response | undefined {
  const checked = WRITE_SCHEMAS[resource].input.safeParse(value);
  if (checked.success) return undefined;
  return problem(400, {
    title: "Invalid write body",
    detail: `The body is not a ${RESOURCE_INFO[resource].name}Input of ` +
      `/openapi.json: ${issuesText(checked.error)}`,
    instance,
  });
}
