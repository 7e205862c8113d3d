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

import { z } from "zod";
import { problem } from "../../services/http/problem.ts";
import { issuesText } from "../../services/http/schema_issues.ts";
import { type Resource, RESOURCE_INFO, RESOURCES } from "./resources.ts";

/** A write's body as sent on, and as read. */
export interface SentBody {
  bytes: Uint8Array<ArrayBuffer>;
  value: Readonly<Record<string, unknown>>;
}

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

/**
 * Whether json-server made `got` of the client's string `sent`: json-server
 * 0.8 (the npm JSONPlaceholder, `toNative`) stores each top-level string of
 * a write that reads as a number or a boolean as one ("5" -> 5, "true" ->
 * true; one too large for a number becomes `null` in its JSON).
 */
function coercedFrom(sent: string, got: unknown): boolean {
  if (typeof got === "boolean") return sent === String(got);
  if (sent === "" || sent.trim() !== sent) return false;
  const number = Number(sent);
  return Number.isFinite(number) ? got === number : got === null;
}

/**
 * `answer` with the client's own strings where the upstream turned them
 * into numbers or booleans: a valid `{"title":"5"}` came back as
 * `{"title":5}`, not of the document's schema, and was a 502 for a write
 * that happened. The client gets what it wrote, of the document's types.
 */
export function echoRestored(
  answer: unknown,
  sent: Readonly<Record<string, unknown>>,
): unknown {
  if (typeof answer !== "object" || answer === null) return answer;
  if (Array.isArray(answer)) return answer;
  let restored: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(sent)) {
    if (typeof value !== "string" || !Object.hasOwn(answer, key)) continue;
    if (coercedFrom(value, (answer as Record<string, unknown>)[key])) {
      (restored ??= { ...answer })[key] = value;
    }
  }
  return restored ?? answer;
}

/** The schema a 2xx answer to a write of `sent` is held to. */
export function writtenSchemaOf(
  resource: Resource,
  sent: Readonly<Record<string, unknown>>,
): z.ZodType {
  return z.preprocess(
    (value) => echoRestored(value, sent),
    WRITE_SCHEMAS[resource].written,
  );
}

const encoder = new TextEncoder();

/**
 * The 2xx answer's bytes with the client's strings given back (see
 * {@linkcode echoRestored}); the upstream's own bytes `body` when nothing
 * was turned. `answer` is `body` as the answer's check parsed it.
 */
export function restoredAnswer(
  body: Uint8Array,
  answer: unknown,
  sent: Readonly<Record<string, unknown>>,
): Uint8Array {
  const restored = echoRestored(answer, sent);
  return restored === answer
    ? body
    : encoder.encode(JSON.stringify(restored, null, 2));
}
