/**
 * A function of a header value, remembered per value: a server sees a
 * handful of `Content-Type`, `Cache-Control` and `Accept-Encoding` values,
 * and a `Map` lookup costs less than the regex or the parse on every
 * answer. At most `size` values are kept; past that the memo starts again,
 * so a flood of distinct values cannot grow it.
 *
 * @module
 */

/** `compute`, remembered for up to `size` distinct values. */
export function memoByValue<T>(
  compute: (value: string) => T,
  size = 64,
): (value: string) => T {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`size must be a positive integer, got ${size}`);
  }
  const memo = new Map<string, T>();
  return (value) => {
    const known = memo.get(value);
    // One lookup for a remembered value that is not undefined.
    if (known !== undefined || memo.has(value)) return known as T;
    const result = compute(value);
    if (memo.size >= size) memo.clear();
    memo.set(value, result);
    return result;
  };
}
