/**
 * The connection cap in force ({@linkcode ConnectionCap}): `MAX_CONNECTIONS`
 * until an accept fails for want of descriptors, then the connections open
 * at that moment less the headroom, forgotten once unused for a while.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionCap } from "../services/server/connection_cap.ts";

Deno.test("ConnectionCap: MAX_CONNECTIONS until out of descriptors, then the connections open less the headroom, never raised by a later shortage", () => {
  let now = 0;
  const cap = new ConnectionCap(10_000, { headroom: 32, now: () => now });
  assert.equal(cap.reached(9_999), false);
  assert.equal(cap.reached(10_000), true);
  cap.exhausted(225);
  assert.equal(cap.value, 193);
  assert.equal(cap.reached(192), false);
  assert.equal(cap.reached(193), true);
  // A later shortage with more open (closes still under way) keeps it.
  now += 1000;
  cap.exhausted(230);
  assert.equal(cap.value, 193);
  // With fewer open (files took descriptors): lower.
  cap.exhausted(150);
  assert.equal(cap.value, 118);
  // Never below one.
  cap.exhausted(3);
  assert.equal(cap.value, 1);
});

Deno.test("ConnectionCap: a lowered cap is kept while it is reached, forgotten after forgetMs unused", () => {
  let now = 0;
  const cap = new ConnectionCap(500, { forgetMs: 60_000, now: () => now });
  cap.exhausted(132);
  assert.equal(cap.value, 100);
  now += 59_000;
  assert.equal(cap.reached(100), true);
  now += 59_000;
  assert.equal(cap.reached(99), false);
  assert.equal(cap.value, 100);
  now += 2_000;
  assert.equal(cap.reached(99), false);
  assert.equal(cap.value, 500);
  assert.equal(cap.reached(100), false);
  assert.equal(cap.reached(500), true);
});

Deno.test("ConnectionCap validates its options", () => {
  assert.throws(() => new ConnectionCap(0), RangeError);
  assert.throws(() => new ConnectionCap(1.5), RangeError);
  assert.throws(() => new ConnectionCap(10, { headroom: -1 }), RangeError);
  assert.throws(() => new ConnectionCap(10, { forgetMs: NaN }), RangeError);
});
