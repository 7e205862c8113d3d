/**
 * The upload's writer task: takes the filled buffers off the
 * {@linkcode BoundedQueue}, writes each to the {@linkcode UploadSink} and
 * hands it to the content's hash ({@linkcode ContentHash}), which gives the
 * buffer back to the reader's free list once hashed.
 * `writerWriteMs` is the time in sink writes (the disk), `writerIdleMs` the
 * time in `get` on an empty queue (waiting for the reader),
 * `writerHashWaitMs` the time in `hash.room()` (waiting for the hash worker
 * to catch up). The three are where the writer's time goes; the third was
 * once counted in neither of the others, so an upload the hash held back
 * reported a writer that seemed to do nothing and was called write-bound.
 *
 * @module
 */

import type { LogFields } from "../ops/logger.ts";
import type { BoundedQueue } from "./bounded_queue.ts";
import type { ContentHash } from "./content_hash.ts";
import type { UploadSink } from "./sink.ts";

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/** Options of {@linkcode WriterTask}. */
export interface WriterTaskOptions {
  queue: BoundedQueue;
  sink: Pick<UploadSink, "write">;
  /** Takes each written buffer (and gives it back to the free list). */
  hash: ContentHash;
  /** The upload's failure signal: no write starts once it aborted. */
  signal: AbortSignal;
  trace?: ((fields: LogFields) => void) | undefined;
}

/** Drains the queue into the sink; see the module doc. */
export class WriterTask {
  /** Time in sink writes. */
  writeMs = 0;
  /** Time waiting on an empty queue. */
  idleMs = 0;
  /** Time waiting for the hash to have room (the hash worker lagging). */
  hashWaitMs = 0;
  #idle = false;
  // What the task waits on now and since when, for timesAt().
  #getSince: number | undefined;
  #writeSince: number | undefined;
  #hashSince: number | undefined;
  readonly #o: WriterTaskOptions;

  /** Prepares the task; {@linkcode WriterTask.run} starts it. */
  constructor(options: WriterTaskOptions) {
    this.#o = options;
  }

  /** Whether the writer waits on an empty queue right now. */
  get idle(): boolean {
    return this.#idle;
  }

  /**
   * `writeMs`, `idleMs` and `hashWaitMs` at `now`, counting the write, the
   * get or the wait on the hash under way (the live progress reads them
   * without per-chunk work).
   */
  timesAt(
    now: number,
  ): { writeMs: number; idleMs: number; hashWaitMs: number } {
    const writing = this.#writeSince ?? now;
    const getting = this.#getSince ?? now;
    const hashing = this.#hashSince ?? now;
    return {
      writeMs: this.writeMs + (now - writing),
      idleMs: this.idleMs + (now - getting),
      hashWaitMs: this.hashWaitMs + (now - hashing),
    };
  }

  /** Writes until the queue is closed and drained. */
  async run(): Promise<void> {
    const { queue, sink, hash, signal, trace } = this.#o;
    while (true) {
      const t0 = performance.now();
      this.#idle = queue.length === 0;
      this.#getSince = t0;
      const chunk = await queue.get();
      this.#getSince = undefined;
      this.#idle = false;
      const t1 = performance.now();
      this.idleMs += t1 - t0;
      trace?.({
        task: "writer",
        op: "get",
        bytes: chunk?.byteLength ?? 0,
        ms: round3(t1 - t0),
        queued: queue.size,
      });
      if (chunk === undefined) return;
      signal.throwIfAborted();
      this.#writeSince = t1;
      await sink.write(chunk);
      this.#writeSince = undefined;
      const t2 = performance.now();
      this.writeMs += t2 - t1;
      trace?.({
        task: "writer",
        op: "write",
        bytes: chunk.byteLength,
        ms: round3(t2 - t1),
        queued: queue.size,
      });
      // Written: hashed next (in body order), then free for the reader.
      hash.update(chunk);
      this.#hashSince = t2;
      await hash.room();
      this.#hashSince = undefined;
      const t3 = performance.now();
      this.hashWaitMs += t3 - t2;
      trace?.({
        task: "writer",
        op: "hash-wait",
        bytes: chunk.byteLength,
        ms: round3(t3 - t2),
        queued: queue.size,
      });
    }
  }
}
