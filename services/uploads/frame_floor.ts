/**
 * The floor on the size of a body's frames while they arrive faster than
 * the reader reads them. Deno 2.9.6 reads a chunked request body off the
 * socket ahead of its reader, with no bound, and each read then costs more
 * the more frames it holds (seen: a 100-byte frame took 0.3-2 ms to
 * read with 27-38 MB of them held): a client sending 100-byte frames faster than
 * they are read makes every read slower, so the body falls further behind
 * (a 40 MB upload read at ~45 KB/s, the process holding all of it). The
 * reader lets the loop turn (services/uploads/loop_turns.ts), which keeps
 * the service answering, and reports each stretch of reads that held the
 * loop here; once such stretches with frames averaging under
 * {@linkcode MIN_FRAME_BYTES} add up to {@linkcode MAX_TINY_STRETCHES}
 * (about a second), the upload fails. A slow client's small frames never
 * count: its reads wait for the network, which turns the loop.
 *
 * ```ts
 * import { FrameFloor } from "./frame_floor.ts";
 *
 * const floor = new FrameFloor();
 * floor.read(100);
 * floor.heldLoop(); // undefined until too many stretches were tiny
 * ```
 *
 * @module
 */

/** Frames (bytes per read) averaging less, read back to back, count. */
export const MIN_FRAME_BYTES = 1024;
/** Stretches of 16 ms holding the loop with tiny frames: ~1 s in all. */
export const MAX_TINY_STRETCHES = 64;
/** A tiny stretch this recent makes the body count as behind, ms. */
export const BEHIND_MS = 1000;

/** The average frame size when the floor is crossed. */
export interface FramesTooSmall {
  minFrameBytes: number;
  averageFrameBytes: number;
}

/** Counts the reads between loop turns; see the module doc. */
export class FrameFloor {
  #reads = 0;
  #bytes = 0;
  #tinyStretches = 0;
  #lastTinyAt: number | undefined;

  /**
   * Whether a stretch of tiny frames held the loop within
   * {@linkcode BEHIND_MS}: the runtime then holds many frames ahead of the
   * reader, and cancelling the body would go through every one of them
   * with no turn of the loop (pipeline.ts leaves the cancel out).
   */
  get behind(): boolean {
    const at = this.#lastTinyAt;
    return at !== undefined && performance.now() - at < BEHIND_MS;
  }

  /** Counts one read of `bytes`. */
  read(bytes: number): void {
    this.#reads++;
    this.#bytes += bytes;
  }

  /**
   * The reads since the last call held the loop: returns the figures once
   * the tiny stretches reached {@linkcode MAX_TINY_STRETCHES}.
   */
  heldLoop(): FramesTooSmall | undefined {
    const reads = this.#reads;
    const average = reads === 0 ? 0 : Math.floor(this.#bytes / reads);
    this.#reads = 0;
    this.#bytes = 0;
    if (reads === 0 || average >= MIN_FRAME_BYTES) return undefined;
    this.#tinyStretches++;
    this.#lastTinyAt = performance.now();
    if (this.#tinyStretches < MAX_TINY_STRETCHES) return undefined;
    return { minFrameBytes: MIN_FRAME_BYTES, averageFrameBytes: average };
  }
}
