/**
 * The one merge of two sorted arrays (`merge_sorted.ts`), which the
 * listing index (`file_index.ts`) and the sort of a build
 * (`sort_in_turns.ts`) each had a copy of: stable (ties keep the first
 * array's items first), the same in one stretch and in turns, and the
 * latter gives the event loop turns over a big merge.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LoopTurns } from "../services/http/loop_turns.ts";
import {
  mergeSorted,
  mergeSortedInTurns,
} from "../services/storage/merge_sorted.ts";

interface Item {
  key: number;
  from: string;
}

const byKey = (x: Item, y: Item) => x.key - y.key;

/** `keys` as items from `from`. */
const items = (from: string, keys: number[]): Item[] =>
  keys.map((key) => ({ key, from }));

Deno.test("mergeSorted merges two sorted arrays stably, either one empty too", () => {
  const a = items("a", [1, 2, 2, 5]);
  const b = items("b", [0, 2, 6]);
  assert.deepEqual(
    mergeSorted(a, b, byKey).map(({ key, from }) => `${key}${from}`),
    ["0b", "1a", "2a", "2a", "2b", "5a", "6b"],
  );
  assert.deepEqual(mergeSorted([], b, byKey), b);
  assert.deepEqual(mergeSorted(a, [], byKey), a);
});

Deno.test("mergeSortedInTurns merges as mergeSorted does, giving the event loop turns", async () => {
  const a = items("a", Array.from({ length: 20_000 }, (_, i) => 2 * i));
  const b = items("b", Array.from({ length: 20_000 }, (_, i) => 3 * i));
  let ticks = 0;
  let timer = setTimeout(function tick() {
    ticks++;
    timer = setTimeout(tick, 0);
  }, 0);
  // maxMs 0: a turn at every look at the clock, so the count does not
  // depend on how fast this machine merges.
  using turns = new LoopTurns({ maxMs: 0 });
  const merged = await mergeSortedInTurns(a, b, byKey, turns);
  clearTimeout(timer);
  assert.deepEqual(merged, mergeSorted(a, b, byKey));
  // A look every 1024 items, a turn at every other look at least.
  assert.ok(ticks >= 10, `${ticks} turns of the event loop during the merge`);
});
