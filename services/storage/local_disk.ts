/**
 * The first {@linkcode FileStorage}: the stored uploads in one folder on
 * the local disk. `<id>` holds the content and `<id>.json` its
 * {@linkcode FileMetadata}, both written by an upload from
 * {@linkcode LocalDiskStorage.begin} (see `disk_upload.ts`); `<id>.part`
 * and `<id>.json.part` are uploads in progress. A file exists once `<id>`
 * exists; a sidecar without content is an orphan of a crash.
 * Every method checks the id with {@linkcode isValidId} before touching the
 * filesystem, so a path-like id can never escape the folder.
 *
 * Listing reads an index kept in memory ({@linkcode FolderIndex}): built
 * from the sidecars after the start, in the background, while the service
 * already answers ({@linkcode LocalDiskStorage.startIndexing},
 * `index_build.ts`), and brought up to date whenever the folder's mtime
 * moves, which is also how files added or deleted by another process
 * sharing the folder show up.
 *
 * If the folder vanishes while the service runs, the store recreates it
 * (logged once per disappearance) so uploads keep working.
 *
 * @example Usage
 * ```ts
 * const store = await createLocalDiskStorage({ dir: "./data/files" });
 * store.startIndexing(); // sweeps and builds the index in the background
 * const page = await store.list({ limit: 20 }); // waits for it (1 s at most)
 * await store.close();
 * ```
 *
 * @module
 */

import { statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { deleteOnDiskIf, removeSidecarIfSame } from "./disk_delete.ts";
import { folderUnmade, folderUnusable } from "./disk_errors.ts";
import { DiskUpload } from "./disk_upload.ts";
import { sweepAtStart, sweepFolder } from "./disk_sweep.ts";
import { DiskVersions } from "./disk_versions.ts";
import { decodeCursor, encodeCursor } from "./disk_cursor.ts";
import { FolderIndex, type IndexProgress } from "./folder_index.ts";
import { IndexStart } from "./index_build.ts";
import { fileRangeChunks } from "./file_chunks.ts";
import { statIfAny } from "./path_exists.ts";
import type { Logger } from "../ops/logger.ts";
import {
  type FileMetadata,
  isValidId,
  newId,
  parseMetadata,
} from "./metadata.ts";
import {
  type ConditionalDeletion,
  type FileStorage,
  listLimitOf,
  type ListOptions,
  type ListPage,
  type OpenedFile,
  type ReadRange,
  StorageUnavailableError,
  type StorageUpload,
} from "./storage.ts";

/** Options of {@linkcode createLocalDiskStorage}. */
export interface LocalDiskOptions {
  /** The folder of the stored files (created if missing). */
  dir: string;
  /** Where a recreated folder (and the start's work) is reported. */
  logger?: Logger;
  /**
   * Longest a listing waits for the index being built at start, ms
   * (`index_build.ts`). @default {DEFAULT_LIST_WAIT_MS}
   */
  listWaitMs?: number;
}

/** Counters of a {@linkcode LocalDiskStorage}, for metrics and tests. */
export interface LocalDiskStats {
  /** Files in the index. */
  files: number;
  /** Index refreshes from the folder (the first one builds it). */
  refreshes: number;
  /** Sidecars read since the start. */
  sidecarReads: number;
  /** Times the folder was found missing and recreated. */
  dirRecreated: number;
  /** Whether the index was built (a start builds it in the background). */
  indexBuilt: boolean;
}

// A listing whose page keeps changing under it (files replaced while it
// checks them) gives the page it has after this many takes.
const PAGE_ROUNDS = 4;

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/** The stored uploads in one folder of the local disk. */
export class LocalDiskStorage implements FileStorage {
  /** The folder of the stored files. */
  readonly dir: string;
  readonly #logger: Logger | undefined;
  readonly #folder: FolderIndex;
  readonly #versions: DiskVersions;
  readonly #start: IndexStart;
  #sidecarReads = 0;
  #dirRecreated = 0;

  /** Creates a store; prefer {@linkcode createLocalDiskStorage}, which makes the folder. */
  constructor(options: LocalDiskOptions) {
    const { dir, logger, listWaitMs } = options;
    if (typeof dir !== "string" || dir === "") {
      throw new TypeError("dir must be a non-empty string");
    }
    this.dir = dir;
    this.#logger = logger;
    this.#folder = new FolderIndex({
      dir,
      readEntry: (id) => this.#versions.entry(id),
      restoreDir: () => this.restoreDir(),
      sweep: (names, turns) => sweepAtStart(dir, names, turns, logger),
    });
    this.#versions = new DiskVersions({
      dir,
      folder: this.#folder,
      readMetadata: (id) => this.#readMetadata(id),
    });
    this.#start = new IndexStart({
      folder: this.#folder,
      logger,
      ...(listWaitMs === undefined ? {} : { listWaitMs }),
    });
  }

  /** Creates the folder (and its parents) if missing. */
  async ensureDir(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
  }

  /**
   * Makes sure the folder exists while the service runs: if someone removed
   * it, it is made again (counted, and logged once by whichever request
   * made it). Throws {@linkcode StorageUnavailableError} when the path is
   * not a folder or cannot be made. Costs one `stat` when all is well.
   */
  async restoreDir(): Promise<void> {
    try {
      const info = await Deno.stat(this.dir);
      if (info.isDirectory) return;
      throw new StorageUnavailableError(`${this.dir} is not a folder`);
    } catch (error) {
      if (!isNotFound(error)) throw folderUnmade(this.dir, error);
    }
    try {
      await Deno.mkdir(dirname(this.dir), { recursive: true });
      // Not recursive: of several requests racing here (in this process
      // or another), exactly one creates it, so it is logged once.
      await Deno.mkdir(this.dir);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return;
      throw folderUnmade(this.dir, error);
    }
    this.#dirRecreated++;
    this.#folder.reset();
    this.#logger?.warn("files.dir_recreated", {
      dir: this.dir,
      detail: "The files folder was removed while running; made it again",
    });
  }

  /** Counters for metrics and tests. */
  stats(): LocalDiskStats {
    const { index, progress } = this.#folder;
    return {
      // While the build reads the sidecars: the committed files it found.
      files: Math.max(index.size, progress?.total ?? 0),
      refreshes: this.#folder.refreshes,
      sidecarReads: this.#sidecarReads,
      dirRecreated: this.#dirRecreated,
      indexBuilt: this.#folder.built,
    };
  }

  /**
   * {@linkcode stats} once the index has caught up with the folder (one
   * `stat` while it is unchanged), so `files_stored` counts the uploads and
   * deletes made since the last listing: it stayed at the start's count
   * while nothing listed.
   */
  async syncedStats(): Promise<LocalDiskStats> {
    try {
      await this.#folder.sync();
    } catch {
      // A folder that cannot be read or made again fails the next upload
      // and listing with its own 503; the scrape keeps the last count.
    }
    return this.stats();
  }

  /**
   * Removes what a crash leaves behind ({@linkcode sweepFolder}); resolves
   * with how many files were removed.
   */
  sweep(): Promise<number> {
    return sweepFolder(this.dir);
  }

  /** The metadata of file `id`, or `undefined` if there is none. */
  async stat(id: string): Promise<FileMetadata | undefined> {
    if (!isValidId(id)) return undefined;
    // Not the index's word: another process may have replaced the file
    // under the same id (disk_versions.ts).
    return await this.#versions.current(id);
  }

  /**
   * One page of the stored files, oldest first (ties by id). Throws a
   * `RangeError` on a bad `limit` or `cursor`.
   */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const limit = listLimitOf(options);
    const { cursor } = options;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    await this.#start.untilListable();
    await this.#folder.sync();
    const page = () =>
      this.#folder.index.page({
        limit,
        ...(after === undefined ? {} : { after }),
      });
    // The files listed are the versions there (disk_versions.ts): a page
    // with a file replaced or gone is taken again, a few times at most.
    let { items, more } = page();
    for (let round = 1; round < PAGE_ROUNDS; round++) {
      if (await this.#versions.confirm(items)) break;
      ({ items, more } = page());
    }
    const last = items.at(-1);
    return more && last ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  /**
   * Brings the listing index up to date with the folder (the first call
   * builds it); {@linkcode FolderIndex.refresh}.
   */
  refresh(): Promise<void> {
    return this.#folder.refresh();
  }

  /** Sweeps and builds the index in the background ({@linkcode IndexStart}). */
  startIndexing(): void {
    this.#start.run();
  }

  /** {@linkcode IndexStart.pending}: whether the start's work is done. */
  indexing(waitMs: number): Promise<{ progress?: IndexProgress } | undefined> {
    return this.#start.pending(waitMs);
  }

  /** Stops the start's work if still under way (the service is closing). */
  close(): Promise<void> {
    return this.#start.close();
  }

  /** Deletes file `id`; resolves `false` if there was none. */
  async delete(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    let sidecar: Deno.FileInfo | undefined;
    try {
      // The sidecar of this content: by the time it is removed, an upload
      // of the id may have committed its own (removeSidecarIfSame).
      sidecar = await statIfAny(join(this.dir, `${id}.json`));
      // Content first: if we crash in between, the sidecar is an orphan
      // that the sweep removes, never a listed file without content.
      await Deno.remove(join(this.dir, id));
    } catch (error) {
      if (!isNotFound(error)) throw folderUnusable(this.dir, error);
      // Maybe deleted by another process: forget it here too.
      this.#folder.index.delete(id);
      return false;
    }
    this.#folder.index.delete(id);
    if (sidecar) {
      await removeSidecarIfSame(this.dir, id, sidecar).catch((error) =>
        Promise.reject(folderUnusable(this.dir, error))
      );
    }
    return true;
  }

  /**
   * Deletes file `id` if `holds` is true of its metadata, as one step on
   * the disk (`disk_delete.ts`).
   */
  async deleteIf(
    id: string,
    holds: (meta: FileMetadata) => boolean,
  ): Promise<ConditionalDeletion> {
    if (!isValidId(id)) return "missing";
    const readMetadata = (id: string) => this.#readMetadata(id);
    const done = await deleteOnDiskIf(
      { dir: this.dir, id, readMetadata },
      holds,
    );
    if (typeof done === "string") this.#folder.index.delete(id);
    return done;
  }

  /** {@linkcode FileStorage.ready}: {@linkcode LocalDiskStorage.restoreDir}. */
  ready(): Promise<void> {
    return this.restoreDir();
  }

  /** Starts an upload: creates `<id>.part` (a fresh id by default). */
  begin(id: string = newId()): Promise<StorageUpload> {
    if (!isValidId(id)) {
      return Promise.reject(new RangeError("Invalid file id"));
    }
    return DiskUpload.open(this.dir, id);
  }

  /**
   * The content of file `id`, or of `range` of it, or `undefined` if there
   * is none, or when `version` is given and the file opened is another
   * (its identity checked, disk_versions.ts). The file is opened now, so a
   * later delete does not cut the stream short.
   */
  async read(
    id: string,
    range?: ReadRange,
    version?: FileMetadata,
  ): Promise<ReadableStream<Uint8Array> | undefined> {
    if (!isValidId(id)) return undefined;
    const file = await this.#versions.openContent(id);
    if (!file) return undefined;
    // The reads stop at the bytes sent (file_chunks.ts): the version's
    // size is the file's, checked here.
    let size = version?.size;
    try {
      if (version && !(await this.#versions.holds(id, file, version))) {
        file.close();
        return undefined;
      }
      size ??= range ? 0 : (await file.stat()).size;
    } catch (error) {
      file.close();
      throw error;
    }
    return await fileRangeChunks(file, range, size);
  }

  /** File `id` opened, with its content's metadata (disk_versions.ts). */
  async open(id: string): Promise<OpenedFile | undefined> {
    if (!isValidId(id)) return undefined;
    return await this.#versions.open(id);
  }

  /**
   * Bytes available to this process on the folder's filesystem, or
   * `undefined` when that cannot be asked. Deno has no `Deno.statfs`; this
   * uses `node:fs` `statfs`, which needs `--allow-sys=statfs` besides read
   * access to the folder.
   */
  async freeBytes(): Promise<number | undefined> {
    try {
      const stats = await statfs(this.dir);
      return stats.bavail * stats.bsize;
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied ||
        error instanceof Deno.errors.NotSupported
      ) {
        return undefined;
      }
      throw error;
    }
  }

  async #readMetadata(id: string): Promise<FileMetadata | undefined> {
    this.#sidecarReads++;
    try {
      const text = await Deno.readTextFile(join(this.dir, `${id}.json`));
      return parseMetadata(id, text);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw folderUnusable(this.dir, error);
    }
  }
}

/** Creates a {@linkcode LocalDiskStorage}, making its folder if missing. */
export async function createLocalDiskStorage(
  options: LocalDiskOptions,
): Promise<LocalDiskStorage> {
  const store = new LocalDiskStorage(options);
  await store.ensureDir();
  return store;
}
