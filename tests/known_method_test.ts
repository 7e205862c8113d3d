/**
 * `knownMethod` (services/http/methods.ts) gives the request context its
 * method as a literal when it is a known one: the same method, every known
 * one covered, and any other (methods are case-sensitive: `get` is not
 * `GET`) passed on as it came, so the router still answers it 501 and the
 * metrics label it `OTHER`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KNOWN_METHODS, knownMethod } from "../services/http/methods.ts";

Deno.test("knownMethod keeps every known method and passes any other on as it came", () => {
  for (const method of KNOWN_METHODS) {
    // As the runtime gives it: a string made at run time, not a literal.
    const made = [...method].join("");
    assert.equal(knownMethod(made), method);
  }
  for (const other of ["get", "Get", "FOO", "TRACE", "CONNECT", "GETX", ""]) {
    assert.equal(knownMethod(other), other);
    assert.equal(KNOWN_METHODS.has(knownMethod(other)), false);
  }
});
