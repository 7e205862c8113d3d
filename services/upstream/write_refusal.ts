/**
 * Whether the upstream's answer to a write may pass on to the client, held
 * to what `/openapi.json` promises of it: a 2xx holds a JSON object, of
 * the written item's schema when the route gives one (`{"id":"abc"}` or
 * `{"userId":null}` is not a post; a generated client took them for one);
 * a 4xx holds a JSON object. A 5xx never gets here (`write.ts`).
 *
 * @module
 */

import type { z } from "zod";
import { issuesText } from "../http/schema_issues.ts";
import { assertShape, parsedJson } from "./json_answer.ts";
import { UpstreamError } from "./error.ts";

/** Statuses whose answer has no body to check. */
const NULL_BODY = new Set([204, 205, 304]);

/** What an answer is held to. */
export interface AnswerRules {
  /** The upstream's base URL. */
  baseUrl: string;
  /** A 2xx answer's body (the document's); without it, any JSON object. */
  written?: z.ZodType | undefined;
}

/** The answer's headers the check reads. */
export interface CheckedHeaders {
  contentType?: string;
  location?: string;
}

function refused(status: number, message: string, cause?: unknown) {
  return new UpstreamError(502, message, {
    upstreamStatus: status,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Why a body-bearing answer's body is not passed on, or `undefined`. */
function bodyRefusal(
  status: number,
  body: Uint8Array,
  contentType: string,
  written: z.ZodType | undefined,
): UpstreamError | undefined {
  let value: unknown;
  try {
    value = parsedJson(body, contentType);
    assertShape(value, "object");
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    return refused(status, error.message, error);
  }
  if (status >= 300 || written === undefined) return undefined;
  const checked = written.safeParse(value);
  if (checked.success) return undefined;
  return refused(
    status,
    "upstream answered fields of other types than /openapi.json declares: " +
      issuesText(checked.error),
    checked.error,
  );
}

/**
 * Why the answer `status`, `body`, `headers` is not passed on (its status
 * is 502), or `undefined` when it is.
 */
export function refusalOf(
  status: number,
  body: Uint8Array,
  headers: CheckedHeaders,
  rules: AnswerRules,
): UpstreamError | undefined {
  // A redirect's body is no document's; the others have none.
  if (NULL_BODY.has(status) || (status >= 300 && status < 400)) return;
  return bodyRefusal(status, body, headers.contentType ?? "", rules.written);
}
