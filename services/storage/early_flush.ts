/**
 * Gets a file's written bytes onto the disk while it is still being
 * written, so the fsync of its commit finds little left to do.
 *
 * Linux starts writing dirty pages back only past `dirty_background_ratio`
 * of memory (gigabytes here) or after 30 s, so without this every byte of
 * an upload waits in the page cache for the commit's fsync: on our disks
 * that fsync took 1.4-2.0 s per GiB, on top of the upload itself (0.4-0.5 s
 * on a later host, 3-90 ms with the flushes, whose writes cost the same
 * CPU with or without them: bench/PROFILE.md). An
 * {@linkcode EarlyFlush} keeps one `fdatasync` in flight on a second handle
 * of the same file whenever enough new bytes were written since the last
 * one began, so the disk works in parallel with the network and the final
 * fsync only waits for the last stretch. A second handle because the
 * runtime runs one operation at a time per handle: a flush there never
 * delays the next write.
 *
 * It is an optimisation only: if the second handle cannot be opened (e.g.
 * no descriptor left) it gives up quietly, and the commit's own fsync
 * still makes the file durable. A failed flush is kept and rethrown by
 * {@linkcode EarlyFlush.settle}, so a disk error is never lost.
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of {@linkcode EarlyFlush}. */
export interface EarlyFlushOptions {
  /**
   * Bytes written since the last flush began before the next one starts.
   * @default {16777216}
   */
  everyBytes?: number;
}

/** Background `fdatasync`s of one file; see the module doc. */
export class EarlyFlush {
  readonly #path: string;
  readonly #everyBytes: number;
  #handle: Deno.FsFile | undefined;
  #gaveUp = false;
  #inFlight: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  #unflushed = 0;

  /** Flushes the file at `path` (opened again, read-only, when first needed). */
  constructor(path: string, options: EarlyFlushOptions = {}) {
    const { everyBytes = 16 * 1024 * 1024 } = options;
    checkWholeNumbers({ everyBytes });
    this.#path = path;
    this.#everyBytes = everyBytes;
  }

  /** Counts `bytes` just written; starts a flush when enough piled up. */
  wrote(bytes: number): void {
    this.#unflushed += bytes;
    if (this.#unflushed < this.#everyBytes) return;
    if (this.#inFlight || this.#gaveUp || this.#failure) {
      return;
    }
    this.#unflushed = 0;
    this.#inFlight = this.#flush().finally(() => this.#inFlight = undefined);
  }

  async #flush(): Promise<void> {
    if (!this.#handle) {
      // Opening is part of the flush in flight: no second one starts.
      try {
        const handle = await Deno.open(this.#path, { read: true });
        // Closed while opening: the upload ended meanwhile.
        if (this.#gaveUp) return handle.close();
        this.#handle = handle;
      } catch {
        // Out of descriptors or the like: the commit's fsync suffices.
        this.#gaveUp = true;
        return;
      }
    }
    try {
      await this.#handle.syncData();
    } catch (error) {
      this.#failure ??= { error };
    }
  }

  /**
   * Waits for the flush in flight; rejects with the first flush that
   * failed. Call before the commit's fsync.
   */
  async settle(): Promise<void> {
    await this.#inFlight;
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Closes the second handle; resolves once a flush in flight has ended
   * (never rejects: a commit learns of failures from {@linkcode settle}).
   */
  close(): Promise<void> {
    this.#gaveUp = true;
    try {
      this.#handle?.close();
    } catch {
      // Already closed.
    }
    this.#handle = undefined;
    // The fdatasync in flight keeps the descriptor until it returns; an abort
    // waits for it so that no disk work outlives the upload it belonged to.
    return this.#inFlight ?? Promise.resolve();
  }
}
