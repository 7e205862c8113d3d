/**
 * A sort of a big array that gives the event loop turns: runs of a few
 * thousand items sorted one at a time, then merged two by two in turns
 * (`merge_sorted.ts`). The index's build sorts every file read at
 * start while the service answers (`index_build.ts`), and one
 * `Array.prototype.sort` of 300k files took 2.1 s in one stretch (load 28
 * on the 2-core test machine).
 *
 * @example Usage
 * ```ts
 * import { LoopTurns } from "../http/loop_turns.ts";
 *
 * using turns = new LoopTurns();
 * const sorted = await sortInTurns([3, 1, 2], (a, b) => a - b, turns);
 * ```
 *
 * @module
 */

import type { LoopTurns } from "../http/loop_turns.ts";
import { mergeSortedInTurns } from "./merge_sorted.ts";

// Items of a run sorted in one stretch: 8192 took ~20 ms at load 28.
const RUN = 4096;

/** A sorted copy of `items` (stable), giving `turns` as it goes. */
export async function sortInTurns<T>(
  items: readonly T[],
  compare: (a: T, b: T) => number,
  turns: LoopTurns,
): Promise<T[]> {
  let runs: T[][] = [];
  for (let i = 0; i < items.length; i += RUN) {
    runs.push(items.slice(i, i + RUN).sort(compare));
    if (turns.starved()) await turns.turn();
  }
  while (runs.length > 1) {
    const merged: T[][] = [];
    for (let i = 0; i < runs.length; i += 2) {
      const [a, b] = [runs[i]!, runs[i + 1]];
      merged.push(b ? await mergeSortedInTurns(a, b, compare, turns) : a);
    }
    runs = merged;
  }
  return runs[0] ?? [];
}
