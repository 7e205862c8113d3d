/**
 * The floor on the size of a request body's frames while they arrive
 * faster than they are read, and the loop turns that keep the service
 * answering meanwhile: every loop that reads a request body (the upload's
 * reader, the decoder of a coded body, the form parser's pump) calls
 * {@linkcode FrameFloor.afterRead} after each read. Deno 2.9.6 reads a
 * chunked request body off the socket ahead of its reader, with no bound,
 * and each read then costs more the more frames it holds (seen: a 100-byte
 * frame took 0.3-2 ms to read with 27-38 MB of them held; an 8 KiB one
 * ~1.3 ms in a bare `Deno.serve` pausing 1 ms every 16 reads, the time in
 * the runtime's `memmove` of what it holds): a client
 * sending 100-byte frames faster than they are read makes every read
 * slower, so the body falls further behind (a 40 MB upload read at
 * ~45 KB/s, the process holding all of it). The floor lets the loop turn
 * (loop_turns.ts), which keeps the service answering, and counts each
 * stretch of reads that held the loop while the last
 * {@linkcode WINDOW_READS} reads averaged under {@linkcode MIN_FRAME_BYTES};
 * once such stretches add up to {@linkcode MAX_TINY_STRETCHES} (about a
 * second), the read fails with {@linkcode FramesTooSmallError}. A slow
 * client's small frames never count: its reads wait for the network,
 * which turns the loop. The average is over a window of reads, not the
 * stretch alone: curl sending a pipe (`curl -T -`) sends 64 KiB frames
 * with a 12-byte or 4 KiB one between (a third of its frames), and a
 * stretch cut short by a busy machine (`stress-ng --hdd 2` beside it) could
 * hold only those, so a 100 MB upload got the 400 now and then.
 *
 * A loop that reads the body without handing anything on (a coded body's
 * padding or gzip comment, a form's preamble or other fields) needs it as
 * much as the upload's reader: it never reached that reader's turns, and
 * /metrics went unanswered for 5 s at a time until the upload's timers
 * fired (408 after 15-50 s).
 *
 * ```ts
 * import { FrameFloor } from "./frame_floor.ts";
 *
 * using floor = new FrameFloor();
 * // after each read of a body:
 * const turn = floor.afterRead(100);
 * if (turn) await turn;
 * ```
 *
 * @module
 */

import { LoopTurns, type LoopTurnsOptions } from "./loop_turns.ts";

/**
 * Frames (bytes per read) averaging less, read back to back, count. 1 KiB
 * let Python `requests` streaming 4 KiB pieces fall behind for good: each
 * read then moved the whole held buffer (`memmove`, in the runtime), and
 * the process spun at 100 % CPU, answering nothing, after the client left.
 */
export const MIN_FRAME_BYTES = 8192;
/** Stretches of 16 ms holding the loop with tiny frames: ~1 s in all. */
export const MAX_TINY_STRETCHES = 64;
/**
 * Reads the average frame is taken over: enough to span many stretches of
 * a client that is behind (2-300 reads each, fewer the further behind) and
 * dozens of curl's 64 KiB frames.
 */
export const WINDOW_READS = 256;

/** The average frame size when the floor is crossed. */
export interface FramesTooSmall {
  minFrameBytes: number;
  averageFrameBytes: number;
}

/**
 * The body came as frames so small, and so fast, that its reader could
 * not keep up (see the module doc): its reads held the event loop, back to
 * back, for a second in all with frames averaging under `minFrameBytes`.
 */
export class FramesTooSmallError extends Error {
  /** The floor, in bytes per frame (per body read). */
  readonly minFrameBytes: number;
  /** The average frame the body had while it held the loop, in bytes. */
  readonly averageFrameBytes: number;
  /** Creates the error. */
  constructor({ minFrameBytes, averageFrameBytes }: FramesTooSmall) {
    super(
      `The body arrived as chunks of ${averageFrameBytes} bytes on average, faster than they could be read; the floor is ${minFrameBytes} bytes per chunk`,
    );
    this.name = "FramesTooSmallError";
    this.minFrameBytes = minFrameBytes;
    this.averageFrameBytes = averageFrameBytes;
  }
}

/** Counts the reads between loop turns; see the module doc. */
export class FrameFloor implements Disposable {
  readonly #turns: LoopTurns;
  /** Reads since the last {@linkcode FrameFloor.heldLoop}. */
  #reads = 0;
  /** The sizes of the last {@linkcode WINDOW_READS} reads, a ring. */
  readonly #window = new Float64Array(WINDOW_READS);
  #windowNext = 0;
  #windowReads = 0;
  #windowBytes = 0;
  #tinyStretches = 0;

  /** `options` are the loop turns' (how long a read loop may hold it). */
  constructor(options: LoopTurnsOptions = {}) {
    this.#turns = new LoopTurns(options);
  }

  /**
   * Counts one read of `bytes` and, when the reads held the loop, returns
   * the loop's next turn to wait for. Throws {@linkcode FramesTooSmallError}
   * once the floor is crossed. No promise when there is nothing to wait
   * for: the upload's reader calls this for every read.
   */
  afterRead(bytes: number): Promise<void> | undefined {
    this.read(bytes);
    if (!this.#turns.starved()) return undefined;
    const tooSmall = this.heldLoop();
    if (tooSmall) throw new FramesTooSmallError(tooSmall);
    return this.#turns.turn();
  }

  /** Clears the loop turns' pending witness (the reads are done). */
  [Symbol.dispose](): void {
    this.#turns[Symbol.dispose]();
  }

  /** Counts one read of `bytes`. */
  read(bytes: number): void {
    this.#reads++;
    const at = this.#windowNext;
    this.#windowBytes += bytes - (this.#window[at] ?? 0);
    this.#window[at] = bytes;
    this.#windowNext = (at + 1) % WINDOW_READS;
    if (this.#windowReads < WINDOW_READS) this.#windowReads++;
  }

  /**
   * The reads since the last call held the loop: returns the figures once
   * the tiny stretches reached {@linkcode MAX_TINY_STRETCHES}. A stretch
   * is tiny when the last {@linkcode WINDOW_READS} reads averaged under
   * {@linkcode MIN_FRAME_BYTES}.
   */
  heldLoop(): FramesTooSmall | undefined {
    const reads = this.#reads;
    this.#reads = 0;
    if (reads === 0) return undefined;
    const average = Math.floor(this.#windowBytes / this.#windowReads);
    if (average >= MIN_FRAME_BYTES) return undefined;
    this.#tinyStretches++;
    if (this.#tinyStretches < MAX_TINY_STRETCHES) return undefined;
    return { minFrameBytes: MIN_FRAME_BYTES, averageFrameBytes: average };
  }
}
