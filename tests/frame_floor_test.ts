/**
 * The frame floor (services/http/frame_floor.ts): stretches of reads
 * that held the event loop count only when their frames average under
 * the floor, and the upload fails once they add up.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  FrameFloor,
  MAX_TINY_STRETCHES,
  MIN_FRAME_BYTES,
} from "../services/http/frame_floor.ts";

Deno.test("Stretches of big frames never cross the floor", () => {
  const floor = new FrameFloor();
  for (let i = 0; i < MAX_TINY_STRETCHES * 4; i++) {
    for (let j = 0; j < 100; j++) floor.read(MIN_FRAME_BYTES);
    assert.equal(floor.heldLoop(), undefined);
  }
});

Deno.test("Tiny frames cross the floor at the last allowed stretch, with their average", () => {
  const floor = new FrameFloor();
  for (let i = 1; i < MAX_TINY_STRETCHES; i++) {
    floor.read(100);
    floor.read(300);
    assert.equal(floor.heldLoop(), undefined);
  }
  floor.read(100);
  floor.read(300);
  assert.deepEqual(floor.heldLoop(), {
    minFrameBytes: MIN_FRAME_BYTES,
    averageFrameBytes: 200,
  });
});

Deno.test("A stretch with no read does not count", () => {
  const floor = new FrameFloor();
  for (let i = 0; i < MAX_TINY_STRETCHES * 2; i++) {
    assert.equal(floor.heldLoop(), undefined);
  }
});
