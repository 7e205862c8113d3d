/**
 * One full garbage collection, run once the app is built and before it
 * takes its first request.
 *
 * Starting the service (loading its modules, building the app) leaves V8's
 * young generation grown to its largest (most of what the start allocates
 * survives, and V8 sizes the young generation by that) and the old one
 * full of start-up garbage. V8 shrinks them only at its first full
 * collection with memory reduction, which came 10-30 s of uploads later:
 * until then each upload's few MiB of short-lived objects went into
 * young-generation pages not touched before, and the same 1 GiB upload
 * peaked 10-17 MiB higher (smaps: heap pages of the main isolate 34-40 MiB
 * before that collection, 23-26 after) depending on whether it came before
 * or after it. Collecting at the start makes the idle memory the steady
 * one and the growth of an upload the same from the first.
 *
 * Deno exposes V8's `gc` only under `--expose-gc`; the flag is set for the
 * moment it takes to get the function from a new context (the way Node
 * programs do it), then unset again, so no other code sees a `gc` global.
 *
 * @module
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Collect = (options: { type: "major"; execution: "sync" }) => void;

/**
 * Collects the garbage and shrinks the young generation (~100 ms after a
 * start on a busy machine); returns whether it ran (a runtime that refuses
 * the flag leaves things as they were).
 */
export function collectGarbage(): boolean {
  // Already there under --v8-flags=--expose-gc: the flags stay as they are.
  let collect: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof collect !== "function") collect = exposedGc();
  if (typeof collect !== "function") return false;
  // A full collection shrinks the young generation too. (The "last-resort"
  // flavour, repeated collections, left the same heap in 1-5x the time.)
  (collect as Collect)({ type: "major", execution: "sync" });
  return true;
}

/** V8's `gc`, taken from a context made while `--expose-gc` is set. */
function exposedGc(): unknown {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc");
  } catch {
    return undefined;
  } finally {
    try {
      setFlagsFromString("--no-expose-gc");
    } catch {
      // Nothing was changed.
    }
  }
}
