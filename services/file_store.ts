/**
 * The stored uploads on disk: `<id>` holds the content and `<id>.json` its
 * {@linkcode FileMetadata}, both written by `receiveUpload`. A file exists
 * once `<id>` exists; a sidecar without content is an orphan of a crash.
 * Every method checks the id with {@linkcode isValidId} before touching the
 * filesystem, so a path-like id can never escape the folder.
 *
 * @example Usage
 * ```ts
 * const store = await createFileStore({ dir: "./data/files" });
 * await store.sweepPartFiles(); // at startup only
 * const page = await store.list({ limit: 20 });
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { type FileMetadata, isValidId } from "./upload.ts";

/** Options of {@linkcode createFileStore}. */
export interface FileStoreOptions {
  /** The folder of the stored files (created if missing). */
  dir: string;
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
  };
}

function encodeCursor(meta: FileMetadata): string {
  return Buffer.from(JSON.stringify([meta.created, meta.id])).toString(
    "base64url",
  );
}

function decodeCursor(cursor: string): [created: string, id: string] {
  try {
    const value: unknown = JSON.parse(
      Buffer.from(cursor, "base64url").toString(),
    );
    if (
      Array.isArray(value) && value.length === 2 &&
      typeof value[0] === "string" && isValidId(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // Falls through to the RangeError below.
  }
  throw new RangeError("Invalid list cursor");
}

const byCreatedThenId = (a: FileMetadata, b: FileMetadata) =>
  a.created < b.created
    ? -1
    : a.created > b.created
    ? 1
    : a.id < b.id
    ? -1
    : a.id > b.id
    ? 1
    : 0;

/** Reads, lists and deletes the stored uploads in one folder. */
export class FileStore {
  /** The folder of the stored files. */
  readonly dir: string;

  /** Creates a store; prefer {@linkcode createFileStore}, which makes the folder. */
  constructor(options: FileStoreOptions) {
    const { dir } = options;
    if (typeof dir !== "string" || dir === "") {
      throw new TypeError("dir must be a non-empty string");
    }
    this.dir = dir;
  }

  /** Creates the folder (and its parents) if missing. */
  async ensureDir(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
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
    const meta = await this.#readMetadata(id);
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

    const names = new Set<string>();
    for await (const entry of Deno.readDir(this.dir)) {
      if (entry.isFile) names.add(entry.name);
    }
    // Only committed files: the content is renamed into place last.
    const ids: string[] = [];
    for (const name of names) {
      const id = SIDECAR.exec(name)?.[1];
      if (id !== undefined && names.has(id)) ids.push(id);
    }
    const all: FileMetadata[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const batch = ids.slice(i, i + READ_BATCH);
      for (
        const meta of await Promise.all(
          batch.map((id) => this.#readMetadata(id)),
        )
      ) {
        if (meta) all.push(meta);
      }
    }
    all.sort(byCreatedThenId);

    let start = 0;
    if (after) {
      const [created, id] = after;
      const pivot = { id, created, size: 0, sha256: "" };
      while (start < all.length && byCreatedThenId(all[start]!, pivot) <= 0) {
        start++;
      }
    }
    const items = all.slice(start, start + limit);
    const last = items.at(-1);
    return start + limit < all.length && last
      ? { items, nextCursor: encodeCursor(last) }
      : { items };
  }

  /** Deletes file `id`; resolves `false` if there was none. */
  async remove(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    try {
      // Content first: if we crash in between, the sidecar is an orphan
      // that the sweep removes, never a listed file without content.
      await Deno.remove(join(this.dir, id));
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
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

  async #readMetadata(id: string): Promise<FileMetadata | undefined> {
    try {
      const text = await Deno.readTextFile(join(this.dir, `${id}.json`));
      return parseMetadata(id, text);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

/** Creates a {@linkcode FileStore}, making its folder if missing. */
export async function createFileStore(
  options: FileStoreOptions,
): Promise<FileStore> {
  const store = new FileStore(options);
  await store.ensureDir();
  return store;
}
