/**
 * {@linkcode ClientShare}: one address's cap on the upstream's slots and
 * queue, a percentage of both, never below one; 100 turns it off; calls
 * with no address are never counted.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ClientShare,
  DEFAULT_CLIENT_SHARE_PERCENT,
  overShare,
} from "../services/upstream/client_share.ts";

Deno.test("the share is a percentage of slots plus queue, at least one, off at 100", () => {
  assert.equal(DEFAULT_CLIENT_SHARE_PERCENT, 50);
  // The defaults: 32 slots, 64 waiting.
  assert.equal(new ClientShare({ slots: 32, queueLimit: 64 }).cap, 48);
  assert.equal(
    new ClientShare({ slots: 4, queueLimit: 8, percent: 25 }).cap,
    3,
  );
  assert.equal(new ClientShare({ slots: 1, queueLimit: 0 }).cap, 1);
  assert.equal(
    new ClientShare({ slots: 4, queueLimit: 8, percent: 100 }).cap,
    Infinity,
  );
  for (const percent of [0, 101, 2.5]) {
    assert.throws(
      () => new ClientShare({ slots: 4, queueLimit: 8, percent }),
      RangeError,
    );
  }
});

Deno.test("an address is refused past its share until one of its calls ends; others and the unaddressed are not", () => {
  const share = new ClientShare({ slots: 2, queueLimit: 2 });
  assert.equal(share.take("192.0.2.1"), true);
  assert.equal(share.take("192.0.2.1"), true);
  assert.equal(share.take("192.0.2.1"), false);
  assert.equal(share.heldBy("192.0.2.1"), 2);
  assert.equal(share.take("192.0.2.2"), true);
  for (let i = 0; i < 10; i++) assert.equal(share.take(undefined), true);
  share.give("192.0.2.1");
  assert.equal(share.take("192.0.2.1"), true);
  share.give("192.0.2.1");
  share.give("192.0.2.1");
  share.give("192.0.2.2");
  assert.equal(share.heldBy("192.0.2.1"), 0);
  assert.equal(share.heldBy("192.0.2.2"), 0);
});

Deno.test("the refusal is a 503 with Retry-After naming the share", () => {
  const error = overShare(48);
  assert.equal(error.status, 503);
  assert.equal(error.retryAfterSeconds, 1);
  assert.match(error.message, /48 upstream requests waiting or in flight/);
});
