/**
 * Gives the event loop a turn when a read loop has kept it for too long.
 * On Deno 2.9.6 a request body read whose bytes are already buffered
 * resolves without a turn of the event loop, so a client sending a body
 * as many tiny chunked frames (100 bytes each) faster than they are read
 * kept the upload's reader in one unbroken chain of reads: no timer, no
 * file write's completion, no other request ran until the socket ran dry
 * (a loopback probe: 1 timer tick in 16 s; the upload's own 49 KB disk
 * writes "took" 2-17 s and its queue sat full while the process answered
 * nothing for minutes). Every loop reading a request body asks
 * {@linkcode LoopTurns.starved} after each read, through frame_floor.ts,
 * and waits for a turn when it says so.
 *
 * A zero-delay timer is the witness: armed when none is pending, it fires
 * on the loop's next turn, so a reader whose reads do wait on the network
 * sees it fire and is never held back.
 *
 * ```ts
 * import { LoopTurns } from "./loop_turns.ts";
 *
 * using turns = new LoopTurns({ maxMs: 16 });
 * // after each read:
 * if (turns.starved()) await turns.turn();
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** The longest the reader keeps the loop, ms, by default. */
export const DEFAULT_MAX_HOLD_MS = 16;

/** Options of {@linkcode LoopTurns}. */
export interface LoopTurnsOptions {
  /**
   * How long the loop may go without a turn before
   * {@linkcode LoopTurns.starved} says so, ms (0: as soon as it had none
   * since the last call). @default {DEFAULT_MAX_HOLD_MS}
   */
  maxMs?: number;
}

/** Watches whether the event loop had a turn lately; see the module doc. */
export class LoopTurns implements Disposable {
  readonly #maxMs: number;
  #lastTurn = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onTurn = () => {
    this.#timer = undefined;
  };

  constructor(options: LoopTurnsOptions = {}) {
    const { maxMs = DEFAULT_MAX_HOLD_MS } = options;
    checkWholeNumbers({ maxMs }, { min: 0 });
    this.#maxMs = maxMs;
  }

  /**
   * Whether the loop has had no turn for `maxMs`. With no witness pending
   * the loop turned since the last call (the witness fired), so a new
   * stretch starts now: counting from the witness's turn made every read
   * of a slow body, arriving long after it, look like a held loop.
   */
  starved(): boolean {
    const now = performance.now();
    if (this.#timer === undefined) {
      this.#lastTurn = now;
      this.#timer = setTimeout(this.#onTurn, 0);
      return false;
    }
    return now - this.#lastTurn >= this.#maxMs;
  }

  /** Resolves on the loop's next turn (timers, I/O completions, requests). */
  turn(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** Clears the pending witness timer (the reader is done). */
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
