/**
 * The start's work on a disk store's folder, run while the service already
 * answers: the build of the listing index, which sweeps what a crash left
 * from the names it reads (`FolderIndexOptions.sweep`). A start used to
 * do both before listening (100k files: 9-25 s, 300k: 33-57 s on the
 * loaded 2-core test machine), so every request,
 * `/healthz` and the cached `GET /posts/1` too, was refused that long at
 * each restart. Now only `GET /files` waits for the index, and only so
 * long ({@linkcode IndexStart.untilListable}); past that it is refused
 * with when to ask again ({@linkcode retryAfterSeconds}), and `/readyz`
 * says the instance is not ready yet (README, Uploads).
 *
 * @module
 */

import type { FolderIndex, IndexProgress } from "./folder_index.ts";
import type { Logger } from "../ops/logger.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { IndexBuildingError } from "./storage.ts";

/** The shortest and the longest `Retry-After` while the index is built, s. */
export const RETRY_AFTER_RANGE = { min: 1, max: 30 } as const;

/** `Retry-After` before the build's pace is known, s. */
export const RETRY_AFTER_UNKNOWN = 5;

/** How long a listing waits for the index being built, ms, by default. */
export const DEFAULT_LIST_WAIT_MS = 1000;

/**
 * Seconds until the build is likely done, at its pace so far: the time
 * taken per sidecar times those left, within {@linkcode RETRY_AFTER_RANGE}
 * ({@linkcode RETRY_AFTER_UNKNOWN} before the first sidecars are read).
 */
export function retryAfterSeconds(
  progress: IndexProgress | undefined,
  now: number = performance.now(),
): number {
  const { min, max } = RETRY_AFTER_RANGE;
  if (progress === undefined || progress.read === 0) {
    return RETRY_AFTER_UNKNOWN;
  }
  const perFile = (now - progress.since) / progress.read;
  const left = (perFile * (progress.total - progress.read)) / 1000;
  return Math.min(max, Math.max(min, Math.ceil(left)));
}

/** How far the build has gone, in words, for a problem's `detail`. */
export function buildDetail(progress: IndexProgress | undefined): string {
  return progress === undefined
    ? "The file index is being built (reading the folder's names)"
    : `The file index is being built (${progress.read} of ${progress.total}` +
      " files read)";
}

/**
 * Whether `promise` settled within `ms`: `true` if it resolved, `false`
 * if the time ran out first; its rejection is passed on.
 */
export async function settledWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@linkcode IndexStart}. */
export interface IndexStartOptions {
  /** The index to build (its build sweeps the folder). */
  folder: FolderIndex;
  /** Where a failed start is reported. */
  logger?: Logger | undefined;
  /**
   * Longest a listing waits for the build before it is refused, ms.
   * @default {DEFAULT_LIST_WAIT_MS}
   */
  listWaitMs?: number;
}

/** The start's build (and sweep), in the background; see the module doc. */
export class IndexStart {
  readonly #options: IndexStartOptions;
  readonly #listWaitMs: number;
  #running: Promise<void> = Promise.resolve();

  /** Prepares the start's work; {@linkcode run} starts it. */
  constructor(options: IndexStartOptions) {
    const { listWaitMs = DEFAULT_LIST_WAIT_MS } = options;
    checkWholeNumbers({ listWaitMs }, { min: 0 });
    this.#options = options;
    this.#listWaitMs = listWaitMs;
  }

  /**
   * Builds the index (sweeping the folder as it reads it), in the
   * background. A failure is logged; a listing tries the build again (and
   * answers 503 if it fails).
   */
  run(): void {
    const { folder, logger } = this.#options;
    this.#running = folder.build().catch((error) =>
      logger?.error("files.index_failed", { error })
    );
  }

  /**
   * Resolves once the index is built (at once if it is), waiting for it
   * at most `listWaitMs`; then rejects with {@linkcode IndexBuildingError}.
   * A build that fails rejects with its error.
   */
  async untilListable(): Promise<void> {
    const { folder } = this.#options;
    if (await settledWithin(folder.build(), this.#listWaitMs)) return;
    const { progress } = folder;
    throw new IndexBuildingError(
      buildDetail(progress),
      retryAfterSeconds(progress),
    );
  }

  /**
   * `undefined` once the sweep and the build are done, waiting for them
   * at most `waitMs`; else how far the build has gone.
   */
  async pending(
    waitMs: number,
  ): Promise<{ progress?: IndexProgress } | undefined> {
    await settledWithin(this.#running, waitMs);
    const { folder } = this.#options;
    if (folder.built) return undefined;
    const { progress } = folder;
    return progress === undefined ? {} : { progress };
  }

  /** Stops the work if still under way (the store is closing). */
  async close(): Promise<void> {
    await this.#options.folder.stop();
    await this.#running;
  }
}
