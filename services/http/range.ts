/**
 * Byte ranges (RFC 9110 14): parsing a `Range` header against the size of
 * a representation, down to the one range served (multipart answers are
 * not made).
 *
 * The header is a list (RFC 9110 14.1.1: `1#range-spec`), read by the
 * list rule (5.6.1): empty elements and the spaces around commas are
 * taken, so `bytes=0-1,` is `bytes=0-1` (it was read as several ranges and
 * answered the whole file). Ranges past the end are dropped (14.2), and
 * the ones left are merged where they overlap or touch (14.2 lets a server
 * coalesce them): one range left is served (206), as nginx serves
 * `bytes=0-1,2000-` of a 1,000-byte file; several apart get the whole file
 * (200; nginx sends `multipart/byteranges`, which a client must accept a
 * 200 instead of); none, 416. nginx answers 416 to an empty element
 * (`bytes=0-1,`), which the list rule forbids; download managers (curl
 * `-C`, wget `-c`, aria2c) send one range and no empty element.
 *
 * @example Usage
 * ```ts
 * import { parseRange } from "./range.ts";
 *
 * parseRange("bytes=-10", 100); // { start: 90, end: 99 }
 * parseRange("bytes=0-1,", 100); // { start: 0, end: 1 }
 * parseRange("bytes=0-9,5-19", 100); // { start: 0, end: 19 }
 * ```
 *
 * @module
 */

/** A byte range of a file: `start` to `end`, both inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

// One range-spec: `first-last`, `first-` or `-suffix`, spaces around its
// parts taken (as nginx takes them).
const RANGE_SPEC = /^[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/;

/**
 * The range of a `size`-byte file that `spec` (one list element)
 * asks for; `undefined` when it asks for none of it (past the end, a
 * suffix of 0, `last` before `first`), `"invalid"` when it is no
 * range-spec at all.
 */
function rangeOf(
  spec: string,
  size: number,
): ByteRange | undefined | "invalid" {
  const m = RANGE_SPEC.exec(spec);
  if (!m || (m[1] === "" && m[2] === "")) return "invalid";
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? undefined : { start, end };
}

/**
 * `ranges` merged where they overlap or touch; one range, or `undefined`
 * when several apart are left.
 */
function coalesced(ranges: ByteRange[]): ByteRange | undefined {
  ranges.sort((a, b) => a.start - b.start);
  const merged = { ...ranges[0]! };
  for (const { start, end } of ranges.slice(1)) {
    if (start > merged.end + 1) return undefined;
    merged.end = Math.max(merged.end, end);
  }
  return merged;
}

/**
 * Parses a `Range` header for a file of `size` bytes: the one range to
 * send, `undefined` to serve the whole file (no header, another unit, or
 * ranges apart), or `"unsatisfiable"` (416: no range of the file, or no
 * range-spec).
 */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | undefined | "unsatisfiable" {
  if (header === null) return undefined;
  const m = /^bytes=(.+)$/i.exec(header.trim());
  // Other units are allowed to be ignored (RFC 9110 14.2).
  if (!m) return undefined;
  const ranges: ByteRange[] = [];
  let specs = 0;
  for (const element of m[1]!.split(",")) {
    if (/^[ \t]*$/.test(element)) continue;
    specs++;
    const range = rangeOf(element, size);
    if (range === "invalid") return "unsatisfiable";
    if (range !== undefined) ranges.push(range);
  }
  if (specs === 0 || ranges.length === 0) return "unsatisfiable";
  return coalesced(ranges);
}
