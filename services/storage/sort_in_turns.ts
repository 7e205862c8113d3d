/**
 * A sort of a big array that gives the event loop turns: runs of a few
 * thousand items sorted one at a time, then merged two by two, looking at
 * the clock every 1024 items. The index's build sorts every file read at
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

// Items of a run sorted in one stretch: 8192 took ~20 ms at load 28.
const RUN = 4096;
// Items merged between two looks at the clock.
const TURN_CHECK_EVERY = 1024;

/** `a` and `b`, each sorted by `compare`, as one sorted array. */
async function mergeInTurns<T>(
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
  turns: LoopTurns,
): Promise<T[]> {
  const out = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = j >= b.length || (i < a.length && compare(a[i]!, b[j]!) <= 0)
      ? a[i++]!
      : b[j++]!;
    if (k % TURN_CHECK_EVERY === 0 && turns.starved()) await turns.turn();
  }
  return out;
}

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
      merged.push(b ? await mergeInTurns(a, b, compare, turns) : a);
    }
    runs = merged;
  }
  return runs[0] ?? [];
}
