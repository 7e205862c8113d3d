/**
 * Unit tests of {@linkcode UploadTracker}: counts in all and per client,
 * the idle promise of the shutdown drain, and abortAll.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  UploadsStoppedError,
  UploadTracker,
} from "../services/uploads/tracker.ts";

Deno.test("UploadTracker counts uploads in all and per client, and forgets idle clients", async () => {
  const tracker = new UploadTracker();
  const a1 = tracker.begin("192.0.2.1");
  const a2 = tracker.begin("192.0.2.1");
  const b = tracker.begin("192.0.2.2");
  const unknown = tracker.begin();
  assert.equal(tracker.active, 4);
  assert.equal(tracker.activeFor("192.0.2.1"), 2);
  assert.equal(tracker.activeFor("192.0.2.2"), 1);
  assert.equal(tracker.activeFor(undefined), 1);

  let idle = false;
  const waiting = tracker.idle().then(() => idle = true);
  a1.done();
  a1.done(); // twice counts once
  assert.equal(tracker.activeFor("192.0.2.1"), 1);
  {
    using _ = a2;
  }
  b.done();
  assert.equal(tracker.activeFor("192.0.2.1"), 0);
  await Promise.resolve();
  assert.equal(idle, false);
  unknown.done();
  await waiting;
  assert.equal(tracker.active, 0);
});

Deno.test("UploadTracker.abortAll aborts every running upload with the reason; slots stay until done", () => {
  const tracker = new UploadTracker();
  const slots = [tracker.begin("192.0.2.1"), tracker.begin("192.0.2.2")];
  const ended = tracker.begin("192.0.2.3");
  ended.done();
  const reason = new UploadsStoppedError();
  assert.equal(tracker.abortAll(reason), 2);
  for (const slot of slots) {
    assert.equal(slot.signal.aborted, true);
    assert.equal(slot.signal.reason, reason);
  }
  assert.equal(ended.signal.aborted, false);
  assert.equal(tracker.active, 2);
  for (const slot of slots) slot.done();
  assert.equal(tracker.abortAll(reason), 0);
});
