/**
 * `parseContentLength()` and `contentLengthOf()`
 * (`services/http/content_length.ts`): the one reading of
 * `Content-Length`, by RFC 9110 8.6. A plain number, or one number
 * repeated (`1, 1`, which the runtime frames a body by); nothing else.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  contentLengthOf,
  parseContentLength,
} from "../services/http/content_length.ts";

Deno.test("contentLengthOf() takes a number, or one number repeated; absurd ones kept absurd", () => {
  const of = (value?: string) =>
    contentLengthOf(
      new Headers(value === undefined ? {} : { "content-length": value }),
    );
  assert.equal(of(), undefined);
  assert.equal(of("292"), 292);
  assert.equal(of(" 7 "), 7);
  assert.equal(of("0"), 0);
  assert.equal(of("1, 1"), 1);
  assert.equal(of("5,5,\t5"), 5);
  for (const bad of ["", "-1", "1.5", "1e3", "0x10", "1, 2", "5,", ",5"]) {
    assert.equal(of(bad), undefined, bad);
  }
  assert.equal(of("9".repeat(30)), Number.MAX_SAFE_INTEGER);
});

Deno.test("parseContentLength() compares the numbers, not their spelling", () => {
  assert.equal(parseContentLength("05, 5"), 5);
  assert.equal(parseContentLength("0, 00"), 0);
  assert.equal(parseContentLength("10, 1"), undefined);
  assert.equal(parseContentLength("5 5"), undefined);
  const huge = "9".repeat(30);
  assert.equal(parseContentLength(`${huge}, ${huge}`), Number.MAX_SAFE_INTEGER);
  assert.equal(parseContentLength(`${huge}, ${huge}8`), undefined);
});
