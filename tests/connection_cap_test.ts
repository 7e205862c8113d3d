/**
 * The connection cap in force ({@linkcode ConnectionCap}): `MAX_CONNECTIONS`
 * until an accept fails for want of descriptors, then the connections open
 * at that moment less the headroom (never below it), forgotten a while
 * after the last shortage.
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
  // Never below the headroom: with so few connections open, files took
  // the descriptors (a cap of 1 was the result before).
  cap.exhausted(3);
  assert.equal(cap.value, 32);
  // Nor below one.
  const bare = new ConnectionCap(10, { headroom: 0, now: () => now });
  bare.exhausted(0);
  assert.equal(bare.value, 1);
});

Deno.test("ConnectionCap: a lowered cap is forgotten forgetMs after the last shortage, reached or not", () => {
  let now = 0;
  const cap = new ConnectionCap(500, { forgetMs: 10_000, now: () => now });
  cap.exhausted(132);
  assert.equal(cap.value, 100);
  now += 9_000;
  assert.equal(cap.reached(100), true);
  // Reached all along (steady traffic), it is still forgotten: the
  // descriptors may have been held by files since closed (before, a cap
  // reached was kept for ever).
  now += 1_500;
  assert.equal(cap.reached(100), false);
  assert.equal(cap.value, 500);
  assert.equal(cap.reached(500), true);
  // A later shortage sets it afresh, not below the forgotten one.
  cap.exhausted(232);
  assert.equal(cap.value, 200);
  now += 5_000;
  cap.exhausted(150);
  assert.equal(cap.value, 118);
  now += 9_000;
  assert.equal(cap.value, 118, "10 s from the last shortage, not the first");
  now += 1_500;
  assert.equal(cap.value, 500);
});

Deno.test("ConnectionCap validates its options", () => {
  assert.throws(() => new ConnectionCap(0), RangeError);
  assert.throws(() => new ConnectionCap(1.5), RangeError);
  assert.throws(() => new ConnectionCap(10, { headroom: -1 }), RangeError);
  assert.throws(() => new ConnectionCap(10, { forgetMs: NaN }), RangeError);
});
