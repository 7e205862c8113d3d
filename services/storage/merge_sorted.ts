/**
 * The merge of two sorted arrays into one, in one place: the listing
 * index merges new files into its list (`file_index.ts`) and the sort of
 * a build merges its runs (`sort_in_turns.ts`); each had its own copy.
 * One loop does the work ({@linkcode merging}), run in one stretch by
 * {@linkcode mergeSorted} or giving the event loop turns by
 * {@linkcode mergeSortedInTurns}, for lists of a start's size (300k files)
 * merged while the service answers.
 *
 * @example Usage
 * ```ts
 * import { mergeSorted } from "./merge_sorted.ts";
 *
 * mergeSorted([1, 4], [2, 3], (a, b) => a - b); // [1, 2, 3, 4]
 * ```
 *
 * @module
 */

import type { LoopTurns } from "../http/loop_turns.ts";

// Items merged between two looks at the clock.
const TURN_CHECK_EVERY = 1024;

/**
 * `a` and `b`, each sorted by `compare`, merged into one sorted array (of
 * `a` first on ties, so the merge is stable); pauses (yields) every
 * {@linkcode TURN_CHECK_EVERY} items and returns the array.
 */
function* merging<T>(
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
): Generator<void, T[]> {
  const out = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = j >= b.length || (i < a.length && compare(a[i]!, b[j]!) <= 0)
      ? a[i++]!
      : b[j++]!;
    if (k % TURN_CHECK_EVERY === TURN_CHECK_EVERY - 1) yield;
  }
  return out;
}

/** `a` and `b`, each sorted by `compare`, as one sorted array, in one stretch. */
export function mergeSorted<T>(
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
): T[] {
  const steps = merging(a, b, compare);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `a` and `b`, each sorted by `compare`, as one sorted array, giving
 * `turns` as it goes.
 */
export async function mergeSortedInTurns<T>(
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
  turns: LoopTurns,
): Promise<T[]> {
  const steps = merging(a, b, compare);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (turns.starved()) await turns.turn();
  }
}
