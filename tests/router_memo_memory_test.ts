/**
 * The router's match memo (`routes/router.ts`) is bounded in bytes, not only
 * in entries: a soak's heap snapshots showed every distinct 404 path kept
 * there until 4096 were, and a request head may be 64 KiB, so 3800 long
 * odd paths held 223 MiB (bench/SOAK.md); methods no route takes too. Measured
 * as the heap kept after a full collection, so the figure is what the memo
 * retains, not garbage waiting for the collector.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Router } from "../routes/router.ts";
import { collectGarbage } from "../services/ops/collect_garbage.ts";

const MiB = 1024 * 1024;
const PATHS = 1024;
const LONG = "a".repeat(32 * 1024);

const router = new Router([
  { method: "GET", pattern: "/", handler: () => new Response("root") },
  {
    method: "GET",
    pattern: "/posts/:id",
    handler: (_req, c) => new Response(`post ${c.params.id}`),
  },
]);

/** Heap bytes in use after a full collection. */
function heapKept(): number {
  assert.ok(collectGarbage(), "V8's gc could not be reached");
  return Deno.memoryUsage().heapUsed;
}

/** Heap bytes `run` leaves kept behind. */
function keptBy(run: () => void): number {
  const before = heapKept();
  run();
  return heapKept() - before;
}

Deno.test(`${PATHS} distinct 32 KiB paths leave the router's memo under 4 MiB`, () => {
  const kept = keptBy(() => {
    for (let i = 0; i < PATHS; i++) {
      assert.equal(router.match("GET", `/nope/${i}/${LONG}`).kind, "not_found");
    }
  });
  // Before: 32 MiB, every path kept.
  assert.ok(kept < 4 * MiB, `kept ${(kept / MiB).toFixed(1)} MiB`);
});

Deno.test(`${PATHS} distinct 32 KiB methods leave the router's memo under 4 MiB`, () => {
  const kept = keptBy(() => {
    for (let i = 0; i < PATHS; i++) {
      const match = router.match(`X${i}${LONG}`, "/posts/1");
      assert.equal(match.kind, "method_not_allowed");
    }
  });
  assert.ok(kept < 4 * MiB, `kept ${(kept / MiB).toFixed(1)} MiB`);
});

Deno.test("a path too long to be remembered is still matched, params and all", () => {
  const id = "1".repeat(300);
  for (let i = 0; i < 2; i++) {
    const match = router.match("GET", `/posts/${id}`);
    assert.equal(match.kind, "found");
    assert.deepEqual(match.kind === "found" && match.params, { id });
  }
});
