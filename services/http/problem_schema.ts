/**
 * The shape of an RFC 9457 problem body as this service sends it
 * ({@linkcode ProblemSchema}): the standard members and the extension
 * members some answers add. The OpenAPI document's `Problem` schema is made
 * from it.
 *
 * @module
 */

import { z } from "zod";

const uriReference = z.string().meta({ format: "uri-reference" });

/** An RFC 9457 problem details body. */
export const ProblemSchema = z.object({
  type: uriReference.default("about:blank"),
  title: z.string(),
  status: z.int().min(100).max(599),
  detail: z.string().optional(),
  instance: uriReference.optional(),
  requestId: z.string().describe(
    "On 5xx answers: the request's `X-Request-Id`, as in its log lines " +
      "(not on the 503 a connection over `MAX_CONNECTIONS` gets before " +
      "any request is read).",
  ).optional(),
  upstreamStatus: z.int().min(100).max(599)
    .describe("The upstream's status, when it answered.").optional(),
  maxBytes: z.int().min(0).describe("The limit, on 413.").optional(),
  minBytesPerSecond: z.int().min(0)
    .describe("The rate floor, on a 408 for a too slow body.").optional(),
  allow: z.array(z.string()).describe("The allowed methods, on 405.")
    .optional(),
  dependency: z.literal("storage")
    .describe("On `/readyz`'s 503: what cannot serve.").optional(),
  reason: z.string().describe(
    "On `/readyz`'s 503: why the `dependency` cannot serve " +
      "(`unreachable`, `unresponsive`, `bucket-missing`, " +
      "`credentials-refused`, `clock-skewed`, `proxy-refused`, " +
      "`not-the-bucket`).",
  ).optional(),
}).loose().describe("RFC 9457 problem details.");

/** An RFC 9457 problem details body. */
export type ProblemBody = z.infer<typeof ProblemSchema>;
