/**
 * A zod failure told in one line, for a problem's `detail`: each field
 * with what was wrong with it (`userId: Invalid input: expected number,
 * received null`), the first few only, so an answer of a thousand bad
 * fields does not make a detail of a thousand lines.
 *
 * @module
 */

import type { z } from "zod";

/** Issues named in full; the rest are counted. */
const NAMED = 5;

/** `error`'s issues as `path: message; ...`, the body itself as `(body)`. */
export function issuesText(error: z.ZodError): string {
  const { issues } = error;
  const named = issues.slice(0, NAMED).map((issue) =>
    `${issue.path.map(String).join(".") || "(body)"}: ${issue.message}`
  );
  const more = issues.length - named.length;
  return named.join("; ") + (more > 0 ? `; and ${more} more` : "");
}
