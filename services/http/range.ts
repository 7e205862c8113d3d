/**
 * Single byte ranges (RFC 9110 14): parsing a `Range` header against the
 * size of a representation.
 *
 * @example Usage
 * ```ts
 * import { parseRange } from "./range.ts";
 *
 * parseRange("bytes=-10", 100); // { start: 90, end: 99 }
 * ```
 *
 * @module
 */

/** A byte range of a file: `start` to `end`, both inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a file of `size` bytes: a range, `undefined`
 * to serve the whole file (no header, another unit, or several ranges), or
 * `"unsatisfiable"` (416).
 */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | undefined | "unsatisfiable" {
  if (header === null) return undefined;
  const m = /^bytes=(.+)$/i.exec(header.trim());
  // Other units and multipart ranges are allowed to be ignored (RFC 9110).
  if (!m || m[1]!.includes(",")) return undefined;
  const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(m[1]!);
  if (!spec || (spec[1] === "" && spec[2] === "")) return "unsatisfiable";
  if (spec[1] === "") {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const end = spec[2] === "" ? size - 1 : Math.min(Number(spec[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}
