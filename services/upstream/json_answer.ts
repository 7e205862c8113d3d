/**
 * An upstream answer's JSON as this service takes it: UTF-8 without a
 * byte order mark, parsed, nested no deeper than
 * {@linkcode MAX_UPSTREAM_JSON_DEPTH}, and of the top-level shape its route
 * serves; anything else is a 502.
 *
 * @module
 */

import { jsonDepth } from "../http/json_depth.ts";
import { UpstreamError } from "./error.ts";

// Reads the bytes as they are stored: a BOM left after withoutBom's (a
// second one) is text, which JSON.parse refuses, not a mark to drop.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Deepest nesting of an upstream answer passed on. A JSONPlaceholder item
 * is 3 deep, a list 4, a write's body at most 64 (`MAX_JSON_DEPTH` of the
 * writes), and `_embed`/`_expand` add a few levels; parsers recurse per
 * level and fail far beyond (Python's json at ~1,000, V8's JSON.stringify
 * at ~8,000: a user 100k deep made every `/users/:id/summary` a 500, and
 * was cached, served on and stale-if-error kept it for a day).
 */
export const MAX_UPSTREAM_JSON_DEPTH = 256;

const BOM = [0xef, 0xbb, 0xbf];

/**
 * `body` without a leading UTF-8 byte order mark (a view, no copy). RFC
 * 8259 8.1 forbids sending one; parsers may ignore it, and the check here
 * did (TextDecoder dropped it), but the bytes were stored and passed on as
 * they came: a summary joined its parts' bytes into `{"user":\uFEFF{...`,
 * which Python's json, jq and JSON.parse refuse, and an item kept it at
 * its head, which Node's `JSON.parse(readFileSync(0, "utf8"))` and
 * Python's `json.loads(text)` refuse.
 */
export function withoutBom(body: Uint8Array): Uint8Array {
  return body[0] === BOM[0] && body[1] === BOM[1] && body[2] === BOM[2]
    ? body.subarray(3)
    : body;
}

/**
 * `body` parsed as JSON; 502 when `contentType` is not JSON, it is
 * malformed, or it nests deeper than {@linkcode MAX_UPSTREAM_JSON_DEPTH}.
 */
export function parsedJson(body: Uint8Array, contentType: string): unknown {
  if (!/\bjson\b/i.test(contentType)) {
    throw new UpstreamError(
      502,
      `upstream answered with ${contentType || "no content type"}, not JSON`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new UpstreamError(502, "upstream answered with malformed JSON", {
      cause,
    });
  }
  const depth = jsonDepth(body);
  if (depth > MAX_UPSTREAM_JSON_DEPTH) {
    throw new UpstreamError(
      502,
      `upstream answered JSON nested ${depth} levels deep; ` +
        `at most ${MAX_UPSTREAM_JSON_DEPTH} are passed on`,
    );
  }
  return value;
}

/**
 * The top-level shape a route serves (its OpenAPI schema): an item is a
 * JSON object, a list an array of objects.
 */
export type JsonShape = "object" | "list";

const isObject = (value: unknown): boolean =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Throws 502 when `value` is not of `shape`: `[1,2]` for an item, an
 * object for a list. Passed on, it was cached and served for the whole
 * TTL, and a generated client (a validating SDK) failed on it; thrown, it
 * is not stored and stale-if-error can serve the last good copy.
 */
export function assertShape(
  value: unknown,
  shape: JsonShape | undefined,
): void {
  if (shape === undefined) return;
  const fits = shape === "object"
    ? isObject(value)
    : Array.isArray(value) && value.every(isObject);
  if (fits) return;
  throw new UpstreamError(
    502,
    `upstream answered an unexpected shape: ` +
      (shape === "object" ? "not a JSON object" : "not an array of objects"),
  );
}
