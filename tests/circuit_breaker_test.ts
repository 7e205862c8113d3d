/**
 * The upstream's circuit breaker: it opens after consecutive failures only,
 * lets one probe through after the cooldown, never opens with threshold 0,
 * and validates its options.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CircuitBreaker } from "../services/upstream/circuit_breaker.ts";

function breaker(threshold = 3, cooldownMs = 1000) {
  let now = 0;
  const changes: string[] = [];
  const b = new CircuitBreaker({
    threshold,
    cooldownMs,
    now: () => now,
    onChange: (state) => changes.push(state),
  });
  return { b, changes, advance: (ms: number) => now += ms };
}

Deno.test("CircuitBreaker opens after consecutive failures only", () => {
  const { b, changes } = breaker(3);
  for (const outcome of ["failure", "failure", "success"] as const) {
    assert.ok(b.allow());
    b.record(outcome);
  }
  assert.equal(b.state, "closed");
  for (let i = 0; i < 3; i++) {
    assert.ok(b.allow());
    b.record("failure");
  }
  assert.equal(b.state, "open");
  assert.equal(b.allow(), false);
  assert.equal(b.retryAfterMs, 1000);
  assert.deepEqual(changes, ["open"]);
});

Deno.test("CircuitBreaker lets one probe through after the cooldown", () => {
  const { b, changes, advance } = breaker(1, 1000);
  b.allow();
  b.record("failure");
  advance(999);
  assert.equal(b.state, "open");
  assert.equal(b.allow(), false);
  advance(1);
  assert.equal(b.state, "half_open");
  assert.equal(b.allow(), true);
  assert.equal(b.allow(), false, "a second probe waits");
  // A failed probe opens it for another cooldown.
  b.record("failure");
  assert.equal(b.state, "open");
  assert.equal(b.retryAfterMs, 1000);
  advance(1000);
  // An abandoned probe frees the way for the next one.
  assert.equal(b.allow(), true);
  b.record("abandoned");
  assert.equal(b.allow(), true);
  b.record("success");
  assert.equal(b.state, "closed");
  assert.equal(b.allow(), true);
  assert.deepEqual(changes, ["open", "open", "closed"]);
});

Deno.test("CircuitBreaker with threshold 0 never opens; options are validated", () => {
  const { b } = breaker(0);
  for (let i = 0; i < 100; i++) {
    assert.ok(b.allow());
    b.record("failure");
  }
  assert.equal(b.state, "closed");
  assert.throws(
    () => new CircuitBreaker({ threshold: -1, cooldownMs: 1 }),
    RangeError,
  );
  assert.throws(
    () => new CircuitBreaker({ threshold: 1, cooldownMs: -1 }),
    RangeError,
  );
});
