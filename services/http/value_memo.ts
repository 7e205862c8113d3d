/**
 * A function of a header value, remembered per value: a server sees a
 * handful of `Content-Type`, `Cache-Control` and `Accept-Encoding` values,
 * and a `Map` lookup costs less than the regex or the parse on every
 * answer. At most `size` values are kept; past that the memo starts again,
 * so a flood of distinct values cannot grow it. And a header value made
 * from a number ({@linkcode memoLast}), remembered for the last number,
 * or for up to `size` numbers ({@linkcode memoByNumber}).
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** `compute`, remembered for up to `size` distinct values. */
export function memoByValue<T>(
  compute: (value: string) => T,
  size = 64,
): (value: string) => T {
  checkWholeNumbers({ size });
  const memo = new Map<string, T>();
  const recall = (value: string): T => {
    const known = memo.get(value);
    // One lookup for a remembered value that is not undefined.
    if (known !== undefined || memo.has(value)) return known as T;
    const result = compute(value);
    if (memo.size >= size) memo.clear();
    memo.set(value, result);
    return result;
  };
  // The value asked last and its answer: answers repeat a value (an
  // entry's one `Content-Type` string, a `Cache-Control` made once a
  // second), and comparing it costs less than the lookup, whose table is
  // out of the data cache by the next answer (bench/PROFILE.md, sixteenth
  // round).
  let lastValue: string | undefined;
  let lastResult: T;
  return (value) => {
    if (value !== lastValue) {
      lastResult = recall(value);
      lastValue = value;
    }
    return lastResult;
  };
}

/**
 * `make`, remembered for the last number it was given: a header value
 * that changes rarely (`Cache-Control`'s `max-age`, the TTL left in
 * `Cache-Status`, the same for every hit within a second) is then one
 * string made once, not a new one per answer. A new string costs more
 * than its making: it is flattened and hashed wherever it is read next
 * (a `Map` key, the runtime's header check), each a call out of the JIT
 * code. Any other number is made afresh and remembered in its place.
 */
export function memoLast(make: (n: number) => string): (n: number) => string {
  let last = NaN;
  let made = "";
  return (n) => {
    if (n !== last) {
      made = make(n);
      last = n;
    }
    return made;
  };
}

/**
 * `make`, remembered for up to `size` distinct numbers, the last one
 * compared first: a value that several numbers take in turn (the `Date`
 * of each cached entry, the second its content was made) is made once
 * per number, not once per answer. Past `size` the memo starts again.
 */
export function memoByNumber(
  make: (n: number) => string,
  size = 1024,
): (n: number) => string {
  checkWholeNumbers({ size });
  const memo = new Map<number, string>();
  let last = NaN;
  let made = "";
  return (n) => {
    if (n === last) return made;
    let known = memo.get(n);
    if (known === undefined) {
      known = make(n);
      if (memo.size >= size) memo.clear();
      memo.set(n, known);
    }
    last = n;
    made = known;
    return made;
  };
}
