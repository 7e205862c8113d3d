/**
 * Keeps a {@linkcode FileIndex} in step with the folder of stored files,
 * including the files another process sharing the folder adds or deletes
 * (`deno serve --parallel` workers, a second instance): a sync costs one
 * `stat` of the folder while its mtime stays put; when it moved, a refresh
 * reads the folder's names and only the sidecars of the files the index
 * does not know yet (each with the identity of its content, see
 * `disk_versions.ts`).
 *
 * @example Usage
 * ```ts ignore
 * const folder = new FolderIndex({ dir, readEntry, restoreDir });
 * await folder.refresh(); // builds the index
 * await folder.sync();    // before each listing
 * folder.index.page({ limit: 10 });
 * ```
 *
 * @module
 */

import { compareFiles, FileIndex, type IndexEntry } from "./file_index.ts";
import { sortInTurns } from "./sort_in_turns.ts";
import { DEFAULT_MAX_HOLD_MS, LoopTurns } from "../http/loop_turns.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** How far the build of the index has gone. */
export interface IndexProgress {
  /** Sidecars read so far. */
  read: number;
  /** Sidecars to read (the committed files in the folder). */
  total: number;
  /** When the reading began (`performance.now()`: its pace is a duration). */
  since: number;
}

/** Options of {@linkcode FolderIndex}. */
export interface FolderIndexOptions {
  /** The folder of the stored files. */
  dir: string;
  /**
   * The entry of committed file `id`, read from its sidecar and checked
   * against its content; `"unreadable"` when the sidecar does not parse
   * (or is missing), `undefined` when the file is gone or being replaced.
   */
  readEntry: (id: string) => Promise<IndexEntry | "unreadable" | undefined>;
  /** Called when the folder is missing: make it again, or throw. */
  restoreDir: () => Promise<void>;
  /**
   * Given the folder's names as the build (the first refresh) read them,
   * before it reads a sidecar: removes what a crash left, from the folder
   * and from `names`, so a start reads the folder once (`disk_sweep.ts`;
   * the sweep and the build each read its 600k names at 300k files).
   */
  sweep?: (names: Set<string>, turns: LoopTurns) => Promise<void>;
  /**
   * Longest a refresh goes through the folder's names without giving the
   * event loop a turn, ms. @default {DEFAULT_MAX_HOLD_MS}
   */
  maxHoldMs?: number;
}

// Files added to the index in one stretch by a refresh that found many.
const ADD_CHUNK = 4096;
// Sidecars are read in batches so a big folder cannot exhaust descriptors.
const READ_BATCH = 32;
// Names (or files) gone through between two looks at the clock: a look
// costs little beside 1024 Set lookups (~1 ms at 300k files).
const TURN_CHECK_EVERY = 1024;
/** A file's metadata sidecar in the folder, `<id>.json`; group 1 the id. */
export const SIDECAR = /^([0-9a-f]{32})\.json$/;
// A folder's mtime only moves by whole clock ticks (1-10 ms on Linux; whole
// seconds on some filesystems), so a change in the same tick as the last
// refresh leaves it as it was. While a refresh is this close to the mtime
// it saw, every sync refreshes again (as git treats "racily clean" files).
const RACY_MS = 50;
// Filesystems whose mtimes are whole seconds get a window of two.
const RACY_COARSE_MS = 2000;

function isGone(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory;
}

/**
 * The names of the files in `dir` and its mtime, read before them, giving
 * `turns` as it goes.
 */
export async function scanFolder(
  dir: string,
  turns: LoopTurns,
): Promise<{ mtime: number | null; names: Set<string> }> {
  // The mtime before the names: a change in between is seen now and again
  // by the next sync (the mtime moved), never missed.
  const mtime = (await Deno.stat(dir)).mtime?.getTime() ?? null;
  const names = new Set<string>();
  // Deno reads the whole folder in one call, then `for await` hands out
  // its entries as microtasks, which give the event loop no turn.
  let seen = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) names.add(entry.name);
    if (seen++ % TURN_CHECK_EVERY === 0 && turns.starved()) await turns.turn();
  }
  return { mtime, names };
}

/** A {@linkcode FileIndex} refreshed from its folder when the folder changes. */
export class FolderIndex {
  /** The files, in list order. */
  readonly index: FileIndex = new FileIndex();
  readonly #dir: string;
  readonly #readEntry: FolderIndexOptions["readEntry"];
  readonly #restoreDir: FolderIndexOptions["restoreDir"];
  readonly #sweep: FolderIndexOptions["sweep"];
  readonly #maxHoldMs: number;
  // Committed ids whose sidecar does not parse: not listed, not re-read.
  readonly #unreadable = new Set<string>();
  // The folder's mtime when the index last matched it (undefined: never,
  // or to be rebuilt), and whether a change since could have left it
  // unchanged (see RACY_MS).
  #mtime: number | null | undefined;
  #racy = true;
  // At most one refresh runs and one waits to run after it.
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #refreshes = 0;
  // The first refresh while it runs (see build), and how far it got.
  #building: Promise<void> | undefined;
  #progress: IndexProgress | undefined;
  #stopped = false;

  /** Creates the index, empty until the first refresh. */
  constructor(options: FolderIndexOptions) {
    const {
      dir,
      readEntry,
      restoreDir,
      sweep,
      maxHoldMs = DEFAULT_MAX_HOLD_MS,
    } = options;
    if (typeof dir !== "string" || dir === "") {
      throw new TypeError("dir must be a non-empty string");
    }
    this.#dir = dir;
    this.#readEntry = readEntry;
    this.#restoreDir = restoreDir;
    this.#sweep = sweep;
    checkWholeNumbers({ maxHoldMs }, { min: 0 });
    this.#maxHoldMs = maxHoldMs;
  }

  /** Refreshes done so far (the first one builds the index). */
  get refreshes(): number {
    return this.#refreshes;
  }

  /** Whether the index was built (its first refresh is done). */
  get built(): boolean {
    return this.#refreshes > 0;
  }

  /**
   * How far the build has gone while it runs; `undefined` once built (or
   * before it has read the folder's names).
   */
  get progress(): IndexProgress | undefined {
    return this.built ? undefined : this.#progress;
  }

  /**
   * Builds the index (its first refresh), or joins the build under way;
   * resolves at once once built. A build that failed is tried again by
   * the next call.
   */
  build(): Promise<void> {
    if (this.built) return Promise.resolve();
    this.#building ??= this.refresh().finally(() => {
      this.#building = undefined;
    });
    return this.#building;
  }

  /**
   * Stops a refresh under way at its next turn, leaving the index as it
   * was, and every later one (the store is closing); resolves when it has
   * stopped.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#queued?.catch(() => {});
    await this.#running?.catch(() => {});
  }

  /** Forgets every file; the next sync rebuilds from the folder. */
  reset(): void {
    this.index.clear();
    this.#unreadable.clear();
    this.#mtime = undefined;
  }

  /**
   * Refreshes the index if the folder may have changed since the last one;
   * before the index is built, joins the build ({@linkcode build}), where
   * another refresh queued behind it read every name twice.
   */
  async sync(): Promise<void> {
    if (!this.built) return await this.build();
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(this.#dir);
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    if (!info?.isDirectory) {
      // Gone (or replaced): made again, or restoreDir throws.
      await this.#restoreDir();
      return this.refresh();
    }
    const mtime = info.mtime?.getTime() ?? null;
    // Without mtimes (some platforms), every sync refreshes.
    if (mtime === null || mtime !== this.#mtime || this.#racy) {
      await this.refresh();
    }
  }

  /**
   * Brings the index up to date with the folder: drops the files that are
   * gone and reads the sidecars of the committed files it does not know.
   * Calls join a refresh that has not read the folder yet; one that already
   * has may have missed a change made before the call, so another runs
   * after it.
   */
  refresh(): Promise<void> {
    this.#queued ??= (this.#running ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        const run = this.#refresh().finally(() => {
          if (this.#running === run) this.#running = undefined;
        });
        this.#running = run;
        return run;
      });
    return this.#queued;
  }

  // The loops over the folder's names and the index's files give the event
  // loop a turn every maxHoldMs: in one stretch they held it (and every
  // request) for 150-575 ms at 100k files, 1.6-3.4 s at 300k.
  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    const started = Date.now();
    using turns = new LoopTurns({ maxMs: this.#maxHoldMs });
    // Files this process deletes meanwhile are left to the next refresh:
    // the names read below may predate them.
    const known = [...this.index.ids()];
    let scanned;
    try {
      scanned = await scanFolder(this.#dir, turns);
    } catch (error) {
      if (!isGone(error)) throw error;
      // Gone since the check: made again (empty), or restoreDir throws.
      await this.#restoreDir();
      this.reset();
      return;
    }
    const { mtime, names } = scanned;
    if (!this.built) await this.#sweep?.(names, turns);
    const gone: string[] = [];
    for (let i = 0; i < known.length; i++) {
      const id = known[i]!;
      if (!names.has(id) || !names.has(`${id}.json`)) gone.push(id);
      if (i % TURN_CHECK_EVERY === 0 && turns.starved()) await turns.turn();
    }
    if (this.#stopped) return;
    this.index.deleteAll(gone);
    for (const id of this.#unreadable) {
      if (!names.has(`${id}.json`)) this.#unreadable.delete(id);
    }
    const found = await this.#readNew(await this.#freshIds(names, turns));
    if (this.#stopped) return;
    await this.#addInTurns(found, turns);
    this.#refreshes++;
    this.#mtime = mtime;
    const window = mtime !== null && mtime % 1000 === 0
      ? RACY_COARSE_MS
      : RACY_MS;
    this.#racy = mtime === null || started - mtime < window;
  }

  /**
   * Adds `found` to the index, a chunk at a time, sorted in turns: in one
   * `addAll`, the sort and the entries of a build of 300k files held the
   * event loop for 3.7 s (load 25), now that a start builds the index while
   * the service answers.
   */
  async #addInTurns(found: IndexEntry[], turns: LoopTurns): Promise<void> {
    if (found.length <= ADD_CHUNK) return this.index.addAll(found);
    const sorted = await sortInTurns(
      found,
      (a, b) => compareFiles(a.meta, b.meta),
      turns,
    );
    for (let i = 0; i < sorted.length; i += ADD_CHUNK) {
      this.index.addSorted(sorted.slice(i, i + ADD_CHUNK));
      if (turns.starved()) await turns.turn();
    }
  }

  /**
   * The ids of the committed files in `names` the index lacks; `names` is
   * emptied, so its 600k names (at 300k files) are not kept while the
   * sidecars are read.
   */
  async #freshIds(names: Set<string>, turns: LoopTurns): Promise<string[]> {
    // Only committed files: the content is renamed into place last.
    const fresh: string[] = [];
    let seen = 0;
    for (const name of names) {
      if (seen++ % TURN_CHECK_EVERY === 0 && turns.starved()) {
        await turns.turn();
      }
      const id = SIDECAR.exec(name)?.[1];
      if (
        id !== undefined && names.has(id) && !this.index.has(id) &&
        !this.#unreadable.has(id)
      ) {
        fresh.push(id);
      }
    }
    names.clear();
    return fresh;
  }

  /** The entries of committed files `fresh`, read from their sidecars. */
  async #readNew(fresh: string[]): Promise<IndexEntry[]> {
    const found: IndexEntry[] = [];
    const progress = { read: 0, total: fresh.length, since: performance.now() };
    if (!this.built) this.#progress = progress;
    for (let i = 0; i < fresh.length && !this.#stopped; i += READ_BATCH) {
      progress.read = i;
      const batch = fresh.slice(i, i + READ_BATCH);
      const entries = await Promise.all(
        batch.map((id) => this.#readEntry(id)),
      );
      entries.forEach((entry, j) => {
        if (entry === "unreadable") this.#unreadable.add(batch[j]!);
        else if (entry) found.push(entry);
      });
    }
    return found;
  }
}
