/**
 * Tests of `outOfDescriptors`: the one recogniser of EMFILE/ENFILE, for
 * errors raised directly (accept, open) and wrapped by fetch.
 *
 * @module
 */

import assert from "node:assert/strict";
import { outOfDescriptors } from "../services/ops/descriptors.ts";

Deno.test("outOfDescriptors() finds EMFILE or ENFILE by code, message, or in the chain of causes", () => {
  assert.equal(outOfDescriptors({ code: "EMFILE" }), true);
  assert.equal(outOfDescriptors(new Error("Too many open files")), true);
  const connect = new Error("tcp connect error: (os error 24)");
  assert.equal(
    outOfDescriptors(new TypeError("fetch failed", { cause: connect })),
    true,
  );
  const enfile = new Error("(os error 23)");
  assert.equal(
    outOfDescriptors(
      new Error("a", { cause: new Error("b", { cause: enfile }) }),
    ),
    true,
  );
});

Deno.test("outOfDescriptors() is false for other errors, non-errors and a chain of causes that loops", () => {
  assert.equal(
    outOfDescriptors(new Error("connection refused (os error 111)")),
    false,
  );
  // A name not found while descriptors are free is the name's failure.
  const lookup = new Error(
    "dns error: failed to lookup address information: Name or service not known",
  );
  assert.equal(
    outOfDescriptors(new TypeError("fetch failed", { cause: lookup })),
    false,
  );
  assert.equal(outOfDescriptors(undefined), false);
  assert.equal(outOfDescriptors("EMFILE"), false);
  const loop = new Error("a");
  loop.cause = loop;
  assert.equal(outOfDescriptors(loop), false);
});
