/**
 * The stored uploads on disk: `<id>` holds the content and `<id>.json` its
 * {@linkcode FileMetadata}, both written by `receiveUpload`. A file exists
 * once `<id>` exists; a sidecar without content is an orphan of a crash.
 * Every method checks the id with {@linkcode isValidId} before touching the
 * filesystem, so a path-like id can never escape the folder.
 *
 * Listing reads a {@linkcode FileIndex} kept in memory: built from the
 * sidecars at start ({@linkcode FileStore.refresh}), updated by this
 * process's commits and deletes, and brought up to date with the folder
 * whenever the folder's mtime changes, which is how files added or deleted
 * by another process sharing the folder (`deno serve --parallel` workers,
 * a second instance) show up. A refresh reads the folder's names and only
 * the sidecars of files it does not know yet.
 *
 * If the folder vanishes while the service runs, the store recreates it
 * (logged once per disappearance) so uploads keep working.
 *
 * @example Usage
 * ```ts
 * const store = await createFileStore({ dir: "./data/files" });
 * await store.sweepPartFiles(); // at startup only
 * await store.refresh(); // builds the index
 * const page = await store.list({ limit: 20 });
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FileIndex, type IndexPosition } from "./file_index.ts";
import type { Logger } from "./logger.ts";
import { type FileMetadata, isValidId } from "./upload.ts";

/** Options of {@linkcode createFileStore}. */
export interface FileStoreOptions {
  /** The folder of the stored files (created if missing). */
  dir: string;
  /** Where a recreated folder is reported. */
  logger?: Logger;
}

/** Counters of a {@linkcode FileStore}, for metrics and tests. */
export interface FileStoreStats {
  /** Files in the index. */
  files: number;
  /** Index refreshes from the folder (the first one builds it). */
  refreshes: number;
  /** Sidecars read since the start. */
  sidecarReads: number;
  /** Times the folder was found missing and recreated. */
  dirRecreated: number;
}

/** The folder is missing (or not a folder) and cannot be recreated. */
export class StorageUnavailableError extends Error {
  /** Creates the error; `cause` is the OS error, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}

/** Options of {@linkcode FileStore.list}. */
export interface ListOptions {
  /** Most items in one page, 1 to 1000. @default {100} */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

/** One page of {@linkcode FileStore.list}. */
export interface ListPage {
  /** Files sorted by `created`, then `id`. */
  items: FileMetadata[];
  /** Present when more files follow; pass it back as `cursor`. */
  nextCursor?: string;
}

const MAX_LIST_LIMIT = 1000;
// Sidecars are read in batches so a big folder cannot exhaust descriptors.
const READ_BATCH = 32;
const SIDECAR = /^([0-9a-f]{32})\.json$/;
// A folder's mtime only moves by whole clock ticks (1-10 ms on Linux; whole
// seconds on some filesystems), so a change in the same tick as the last
// refresh leaves it as it was. While a refresh is this close to the mtime
// it saw, every list refreshes again (as git treats "racily clean" files).
const RACY_MS = 50;
// Filesystems whose mtimes are whole seconds get a window of two.
const RACY_COARSE_MS = 2000;
const PART = /^[0-9a-f]{32}(\.json)?\.part$/;

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

function parseMetadata(id: string, text: string): FileMetadata | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const meta = value as Partial<FileMetadata> | null;
  if (
    typeof meta !== "object" || meta === null || meta.id !== id ||
    !Number.isSafeInteger(meta.size) || typeof meta.sha256 !== "string" ||
    typeof meta.created !== "string"
  ) {
    return undefined;
  }
  return {
    id,
    size: meta.size!,
    sha256: meta.sha256,
    created: meta.created,
    // Kept from multipart uploads (optional, so older sidecars still read).
    ...(typeof meta.filename === "string" ? { filename: meta.filename } : {}),
    ...(typeof meta.contentType === "string"
      ? { contentType: meta.contentType }
      : {}),
  };
}

function encodeCursor(meta: FileMetadata): string {
  return Buffer.from(JSON.stringify([meta.created, meta.id])).toString(
    "base64url",
  );
}

function decodeCursor(cursor: string): IndexPosition {
  try {
    const value: unknown = JSON.parse(
      Buffer.from(cursor, "base64url").toString(),
    );
    if (
      Array.isArray(value) && value.length === 2 &&
      typeof value[0] === "string" && isValidId(value[1])
    ) {
      return { created: value[0], id: value[1] };
    }
  } catch {
    // Falls through to the RangeError below.
  }
  throw new RangeError("Invalid list cursor");
}

/** Reads, lists and deletes the stored uploads in one folder. */
export class FileStore {
  /** The folder of the stored files. */
  readonly dir: string;
  readonly #logger: Logger | undefined;
  readonly #index = new FileIndex();
  // Committed ids whose sidecar does not parse: not listed, not re-read.
  readonly #unreadable = new Set<string>();
  // The folder's mtime when the index last matched it (undefined: never,
  // or the index must be rebuilt), and whether a change since could have
  // left it unchanged (see RACY_MS).
  #mtime: number | null | undefined;
  #racy = true;
  // At most one refresh runs and one waits to run after it.
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #refreshes = 0;
  #sidecarReads = 0;
  #dirRecreated = 0;

  /** Creates a store; prefer {@linkcode createFileStore}, which makes the folder. */
  constructor(options: FileStoreOptions) {
    const { dir, logger } = options;
    if (typeof dir !== "string" || dir === "") {
      throw new TypeError("dir must be a non-empty string");
    }
    this.dir = dir;
    this.#logger = logger;
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
      if (!isNotFound(error)) throw unavailable(this.dir, error);
    }
    try {
      await Deno.mkdir(dirname(this.dir), { recursive: true });
      // Not recursive: of several requests racing here (in this process
      // or another), exactly one creates it, so it is logged once.
      await Deno.mkdir(this.dir);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return;
      throw unavailable(this.dir, error);
    }
    this.#dirRecreated++;
    this.#index.clear();
    this.#mtime = undefined;
    this.#logger?.warn("files.dir_recreated", {
      dir: this.dir,
      detail: "The files folder was removed while running; made it again",
    });
  }

  /** Counters for metrics and tests. */
  stats(): FileStoreStats {
    return {
      files: this.#index.size,
      refreshes: this.#refreshes,
      sidecarReads: this.#sidecarReads,
      dirRecreated: this.#dirRecreated,
    };
  }

  /**
   * Removes what a crash leaves behind: `<id>.part` and `<id>.json.part`
   * files, and sidecars whose content was never committed. Resolves with
   * how many files were removed. Run it at startup only: during an upload
   * its `.part` file is live.
   */
  async sweepPartFiles(): Promise<number> {
    const names = new Set<string>();
    for await (const entry of Deno.readDir(this.dir)) {
      if (entry.isFile) names.add(entry.name);
    }
    let removed = 0;
    for (const name of names) {
      const orphan = SIDECAR.exec(name);
      if (PART.test(name) || (orphan && !names.has(orphan[1]!))) {
        try {
          await Deno.remove(join(this.dir, name));
          removed++;
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
    return removed;
  }

  /** The metadata of file `id`, or `undefined` if there is none. */
  async stat(id: string): Promise<FileMetadata | undefined> {
    if (!isValidId(id)) return undefined;
    // Sidecars never change once committed, so the index's copy will do.
    const meta = this.#index.get(id) ?? await this.#readMetadata(id);
    if (!meta) return undefined;
    try {
      const info = await Deno.stat(join(this.dir, id));
      return info.isFile ? meta : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * One page of the stored files, oldest first (ties by id). Throws a
   * `RangeError` on a bad `limit` or `cursor`.
   */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const { limit = 100, cursor } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RangeError(
        `limit must be an integer in [1, ${MAX_LIST_LIMIT}]`,
      );
    }
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    await this.#sync();
    const { items, more } = this.#index.page({
      limit,
      ...(after === undefined ? {} : { after }),
    });
    const last = items.at(-1);
    return more && last ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  /**
   * Brings the index up to date with the folder: drops the files that are
   * gone and reads the sidecars of the committed files it does not know.
   * The first call builds the index. Calls join a refresh that has not
   * read the folder yet; one that already has may have missed a change made
   * before the call, so another runs after it.
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

  /** Deletes file `id`; resolves `false` if there was none. */
  async remove(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    try {
      // Content first: if we crash in between, the sidecar is an orphan
      // that the sweep removes, never a listed file without content.
      await Deno.remove(join(this.dir, id));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // Maybe deleted by another process: forget it here too.
      this.#index.delete(id);
      return false;
    }
    this.#index.delete(id);
    try {
      await Deno.remove(join(this.dir, `${id}.json`));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return true;
  }

  /** Opens file `id` for reading, or resolves `undefined` if there is none. */
  async open(id: string): Promise<Deno.FsFile | undefined> {
    if (!isValidId(id)) return undefined;
    try {
      return await Deno.open(join(this.dir, id), { read: true });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
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

  /** Refreshes the index if the folder changed since the last refresh. */
  async #sync(): Promise<void> {
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(this.dir);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!info?.isDirectory) {
      // Gone (or replaced): make it again, or throw StorageUnavailableError.
      await this.restoreDir();
      return this.refresh();
    }
    const mtime = info.mtime?.getTime() ?? null;
    // Without mtimes (some platforms), every list refreshes.
    if (mtime === null || mtime !== this.#mtime || this.#racy) {
      await this.refresh();
    }
  }

  async #refresh(): Promise<void> {
    const started = Date.now();
    // Files this process adds or deletes meanwhile are left to the next
    // refresh: the names read below may predate them.
    const known = [...this.#index.ids()];
    let mtime: number | null;
    const names = new Set<string>();
    try {
      // The mtime before the names: a change in between is seen now and
      // again by the next list (the mtime moved), never missed.
      mtime = (await Deno.stat(this.dir)).mtime?.getTime() ?? null;
      for await (const entry of Deno.readDir(this.dir)) {
        if (entry.isFile) names.add(entry.name);
      }
    } catch (error) {
      if (!isNotFound(error) && !(error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
      // Gone since the check: make it again, or throw.
      await this.restoreDir();
      this.#index.clear();
      return;
    }
    for (const id of known) {
      if (!names.has(id) || !names.has(`${id}.json`)) this.#index.delete(id);
    }
    // Only committed files: the content is renamed into place last.
    const fresh: string[] = [];
    for (const name of names) {
      const id = SIDECAR.exec(name)?.[1];
      if (
        id !== undefined && names.has(id) && !this.#index.has(id) &&
        !this.#unreadable.has(id)
      ) {
        fresh.push(id);
      }
    }
    for (const id of this.#unreadable) {
      if (!names.has(`${id}.json`)) this.#unreadable.delete(id);
    }
    const found: FileMetadata[] = [];
    for (let i = 0; i < fresh.length; i += READ_BATCH) {
      const batch = fresh.slice(i, i + READ_BATCH);
      const metas = await Promise.all(
        batch.map((id) => this.#readMetadata(id)),
      );
      metas.forEach((meta, j) => {
        if (meta) found.push(meta);
        else this.#unreadable.add(batch[j]!);
      });
    }
    this.#index.addAll(found);
    this.#refreshes++;
    this.#mtime = mtime;
    const window = mtime !== null && mtime % 1000 === 0
      ? RACY_COARSE_MS
      : RACY_MS;
    this.#racy = mtime === null || started - mtime < window;
  }

  async #readMetadata(id: string): Promise<FileMetadata | undefined> {
    this.#sidecarReads++;
    try {
      const text = await Deno.readTextFile(join(this.dir, `${id}.json`));
      return parseMetadata(id, text);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

function unavailable(dir: string, error: unknown): StorageUnavailableError {
  if (error instanceof StorageUnavailableError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StorageUnavailableError(`${dir} cannot be made: ${reason}`, {
    cause: error,
  });
}

/** Creates a {@linkcode FileStore}, making its folder if missing. */
export async function createFileStore(
  options: FileStoreOptions,
): Promise<FileStore> {
  const store = new FileStore(options);
  await store.ensureDir();
  return store;
}
