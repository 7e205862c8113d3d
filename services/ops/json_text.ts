/**
 * JSON text held to a zod schema: what another process wrote (a file's
 * sidecar, a message relayed over Redis, an upload's ending kept there)
 * is read as the schema's value, or as nothing when it is not JSON or not
 * of that shape. One reading for every store and relay, so none of them
 * throws on a bad message or file and each drops it the same way.
 *
 * @module
 */

import type { z } from "zod";

/** `text` parsed as JSON and held to `schema`; `undefined` when it fails. */
export function parseJsonWith<T extends z.ZodType>(
  schema: T,
  text: string,
): z.infer<T> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
