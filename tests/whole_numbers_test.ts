/**
 * `checkWholeNumbers`, the one check of the services' whole-number
 * options: what it lets through, and the `RangeError` naming the option
 * and the value for what it does not.
 *
 * @module
 */

import assert from "node:assert/strict";
import { checkWholeNumbers } from "../services/ops/whole_numbers.ts";

Deno.test("checkWholeNumbers lets through safe integers within the bounds, 1 and up unless said", () => {
  checkWholeNumbers({ a: 1, b: Number.MAX_SAFE_INTEGER });
  checkWholeNumbers({ a: 0 }, { min: 0 });
  checkWholeNumbers({ a: 1000 }, { max: 1000 });
  checkWholeNumbers({});
});

Deno.test("checkWholeNumbers throws RangeError naming the first option out of bounds and its value", () => {
  const cases: [Record<string, number>, object, RegExp][] = [
    [{ ok: 3, count: 0 }, {}, /^count must be a whole number >= 1: 0$/],
    [{ ms: 1.5 }, {}, /^ms must be a whole number >= 1: 1\.5$/],
    [{ n: NaN }, { min: 0 }, /^n must be a whole number >= 0: NaN$/],
    [{ n: -1 }, { min: 0 }, /^n must be a whole number >= 0: -1$/],
    [{ n: 2 ** 53 }, {}, /^n must be a whole number >= 1: 9007199254740992$/],
    [
      { limit: 1001 },
      { max: 1000 },
      /^limit must be a whole number in \[1, 1000\]: 1001$/,
    ],
    [{ a: 5, b: 4 }, { min: 5 }, /^b must be/],
  ];
  for (const [values, bounds, message] of cases) {
    assert.throws(() => checkWholeNumbers(values, bounds), (error) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, message);
      return true;
    });
  }
});
