/**
 * `oldestSince`, the choice of the longest waits that slow_bodies.ts and
 * stall_timeout.ts end for room: the first entries, no more than asked,
 * none younger than the age asked, and its checks of the arguments.
 *
 * @module
 */

import assert from "node:assert/strict";
import { oldestSince } from "../services/http/oldest_since.ts";

Deno.test("oldestSince takes the first entries, up to count, stopping at the first too young", () => {
  const now = performance.now();
  const since = new Map([
    ["a", now - 9_000],
    ["b", now - 7_000],
    [
      "c",
      now - 6_000,
    ],
    ["d", now + 60_000],
    ["e", now - 8_000],
  ]);
  assert.deepEqual(oldestSince(since, 2, 5_000), ["a", "b"]);
  assert.deepEqual(oldestSince(since, 10, 5_000), ["a", "b", "c"]);
  assert.deepEqual(oldestSince(since, 10, 8_500), ["a"]);
  assert.deepEqual(oldestSince(new Map<string, number>(), 3, 0), []);
});

Deno.test("oldestSince throws RangeError on a count or an age it cannot use", () => {
  const since = new Map([["a", 0]]);
  for (const count of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => oldestSince(since, count, 0), RangeError);
  }
  for (const minAgeMs of [-1, NaN, Infinity]) {
    assert.throws(() => oldestSince(since, 1, minAgeMs), RangeError);
  }
});
