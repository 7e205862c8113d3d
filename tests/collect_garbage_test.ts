/**
 * The start-up collection: without `--expose-gc` (the test runner has no
 * such flag) it still collects, returns the garbage's heap pages, and
 * leaves no `gc` global behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { collectGarbage } from "../services/ops/collect_garbage.ts";

const MiB = 1024 * 1024;

Deno.test("collectGarbage frees unreachable objects without exposing gc", () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  // About 30 MiB of small objects (as a start leaves), reachable until the
  // array is dropped.
  let garbage: { n: number; s: string }[] | undefined = Array.from(
    { length: 400_000 },
    (_, n) => ({ n, s: `item ${n}` }),
  );
  assert.equal(garbage.length, 400_000);
  const before = Deno.memoryUsage().heapUsed;
  garbage = undefined;
  assert.equal(collectGarbage(), true);
  const after = Deno.memoryUsage().heapUsed;
  assert.ok(
    before - after > 10 * MiB,
    `heap used ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB`,
  );
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
});
