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
  WINDOW_READS,
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

// The sizes curl sends reading a pipe (`cat f | curl -T -`), captured on
// the wire: 65524 and 61452-byte frames, each followed by a 12-byte one
// (a third of its frames). On a busy machine (`stress-ng --hdd 2` beside
// it) a stretch that held the loop could hold only the small ones; judged
// by its own average, 64 such stretches failed a healthy upload with 400.
Deno.test("Stretches holding only a pipe's small frames, between its 64 KiB ones, never cross the floor", () => {
  const floor = new FrameFloor();
  for (let i = 0; i < MAX_TINY_STRETCHES * 4; i++) {
    floor.read(65524);
    floor.read(61452);
    assert.equal(floor.heldLoop(), undefined);
    floor.read(12);
    floor.read(12);
    assert.equal(floor.heldLoop(), undefined);
  }
});

Deno.test("Tiny frames after big ones cross the floor once the window of reads is theirs", () => {
  const floor = new FrameFloor();
  for (let i = 0; i < WINDOW_READS; i++) floor.read(65536);
  let crossed: ReturnType<FrameFloor["heldLoop"]>;
  let stretches = 0;
  while (crossed === undefined && stretches < WINDOW_READS * 2) {
    for (let i = 0; i < 8; i++) floor.read(100);
    crossed = floor.heldLoop();
    stretches++;
  }
  assert.deepEqual(crossed, {
    minFrameBytes: MIN_FRAME_BYTES,
    averageFrameBytes: 100,
  });
});
