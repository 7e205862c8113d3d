/**
 * Which version of a {@linkcode LocalDiskStorage} file is there: the
 * metadata of the content `<id>` now holds, never an older version's. A
 * process sharing the folder (`deno serve --parallel` workers, a second
 * instance) may delete a file and store new content under the same id (a
 * client's `Upload-Id`): the name stays, so the listing index, which knows
 * files by name, would keep the metadata it read first, and a download
 * answered from it gave the new bytes under the old `ETag` and length.
 *
 * Each index entry ({@linkcode FolderIndex}) keeps the identity of the
 * content its metadata was checked against: a `stat` of `<id>` (or `fstat`
 * of the file opened) that shows that identity needs no read; another one
 * has the sidecar read again and judged (`disk_sidecar.ts`), and the entry
 * replaced. A download checks the file it answers about; a listing checks
 * the files of its page whose check predates the index's last refresh
 * (the folder changed since: any of them may have been replaced), so
 * `GET /files` shows the version there too, at a `stat` per file listed
 * after a change, none while the folder stays as it is.
 *
 * @module
 */

import { join } from "node:path";
import { folderUnusable } from "./disk_errors.ts";
import { identityOf, readSidecarOf } from "./disk_sidecar.ts";
import { fileRangeChunks } from "./file_chunks.ts";
import type { IndexEntry } from "./file_index.ts";
import type { FolderIndex } from "./folder_index.ts";
import { type FileMetadata, sameVersion } from "./metadata.ts";
import type { OpenedFile } from "./storage.ts";

/** Options of {@linkcode DiskVersions}. */
export interface DiskVersionsOptions {
  /** The folder of the stored files. */
  dir: string;
  /** The listing index, whose entries keep what was checked. */
  folder: FolderIndex;
  /** Reads file `id`'s sidecar; `undefined` when there is none. */
  readMetadata: (id: string) => Promise<FileMetadata | undefined>;
}

// A file replaced again and again while it is looked at is given up on
// (answered as missing) after this many looks.
const LOOKS = 3;
// Files of a page checked at once (each a stat), so a page of a thousand
// cannot exhaust descriptors.
const CHECK_BATCH = 32;

/** The metadata of the content the stored files hold now; see the module doc. */
export class DiskVersions {
  readonly #dir: string;
  readonly #folder: FolderIndex;
  readonly #readMetadata: DiskVersionsOptions["readMetadata"];

  /** Creates the checker of `options.folder`'s entries. */
  constructor(options: DiskVersionsOptions) {
    const { dir, folder, readMetadata } = options;
    this.#dir = dir;
    this.#folder = folder;
    this.#readMetadata = readMetadata;
  }

  /**
   * The metadata of the content at `<id>`, or `undefined` if none (then
   * the index forgets it).
   */
  async current(id: string): Promise<FileMetadata | undefined> {
    for (let look = 0; look < LOOKS; look++) {
      const refresh = this.#folder.refreshes;
      const info = await this.#stat(id);
      if (!info?.isFile) break;
      const meta = await this.#of(id, info, refresh);
      if (meta !== undefined) return meta;
    }
    this.#folder.index.delete(id);
    return undefined;
  }

  /**
   * `<id>` opened, with the metadata of the very content opened: one
   * `fstat`, where {@linkcode current} then {@linkcode holds} took a `stat`
   * and an `fstat`. `undefined` if there is none (then the index forgets
   * it), as {@linkcode current} judges.
   */
  async open(id: string): Promise<OpenedFile | undefined> {
    for (let look = 0; look < LOOKS; look++) {
      const file = await this.openContent(id);
      if (file === undefined) break;
      let meta: FileMetadata | undefined;
      try {
        meta = await this.#opened(id, file);
      } catch (error) {
        file.close();
        throw error;
      }
      if (meta !== undefined) {
        const { size } = meta;
        return {
          meta,
          read: (range) => fileRangeChunks(file, range, size),
          close: () => file.close(),
        };
      }
      // Deleted or replaced since it was opened: look at what is there now.
      file.close();
    }
    this.#folder.index.delete(id);
    return undefined;
  }

  /** `<id>` opened for reading, `undefined` if it is not there. */
  async openContent(id: string): Promise<Deno.FsFile | undefined> {
    try {
      return await Deno.open(join(this.#dir, id), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw folderUnusable(this.#dir, error);
    }
  }

  /**
   * Whether `file`, opened as `<id>`, holds `version`'s content: not when
   * its sidecar is gone or not its own (it was deleted or replaced
   * meanwhile), or names another version.
   */
  async holds(
    id: string,
    file: Deno.FsFile,
    version: FileMetadata,
  ): Promise<boolean> {
    const meta = await this.#opened(id, file);
    return meta !== undefined && sameVersion(meta, version);
  }

  /**
   * The index entry of committed file `id` as a refresh of the index reads
   * it (`FolderIndexOptions.readEntry`): its sidecar, if its
   * content's own, with the content's identity.
   */
  async entry(id: string): Promise<IndexEntry | "unreadable" | undefined> {
    const refresh = this.#folder.refreshes;
    const before = await this.#stat(id);
    if (!before?.isFile) return undefined;
    const reading = await readSidecarOf({
      before,
      readSidecar: () => this.#readMetadata(id),
      lookAgain: () => this.#stat(id),
    });
    if (reading === undefined) return "unreadable";
    const { meta, own, identity } = reading;
    if (!own) return undefined;
    // Frozen, the index keeps it as it is (file_index.ts).
    const check = identity === undefined ? undefined : { identity, refresh };
    return Object.freeze({ meta: Object.freeze(meta), check });
  }

  /**
   * Checks the files of `items` (a page of the index) whose check predates
   * the index's last refresh; resolves whether all were as listed. Those
   * that were not are replaced in the index or dropped from it, so the
   * page is to be taken again.
   */
  async confirm(items: readonly FileMetadata[]): Promise<boolean> {
    const { index, refreshes } = this.#folder;
    const stale = items.filter((meta) =>
      index.entry(meta.id)?.check?.refresh !== refreshes
    );
    let same = true;
    for (let i = 0; i < stale.length; i += CHECK_BATCH) {
      const batch = stale.slice(i, i + CHECK_BATCH);
      const found = await Promise.all(batch.map((m) => this.current(m.id)));
      found.forEach((meta, j) => {
        if (!meta || !sameVersion(meta, batch[j]!)) same = false;
      });
    }
    return same;
  }

  /** The metadata of the content `file`, opened as `<id>`, holds. */
  async #opened(
    id: string,
    file: Deno.FsFile,
  ): Promise<FileMetadata | undefined> {
    const refresh = this.#folder.refreshes;
    const info = await file.stat();
    // A folder under the id is no stored file (as `current` judges it).
    return info.isFile ? await this.#of(id, info, refresh) : undefined;
  }

  async #of(
    id: string,
    info: Deno.FileInfo,
    refresh: number,
  ): Promise<FileMetadata | undefined> {
    const { index } = this.#folder;
    const identity = identityOf(info);
    const known = index.entry(id);
    if (identity !== undefined && known?.check?.identity === identity) {
      if (known.check.refresh !== refresh) {
        index.recheck(id, { identity, refresh });
      }
      return known.meta;
    }
    const reading = await readSidecarOf({
      before: info,
      readSidecar: () => this.#readMetadata(id),
      lookAgain: () => this.#stat(id),
    });
    if (!reading?.own) return undefined;
    const { meta } = reading;
    index.add(meta, identity === undefined ? undefined : { identity, refresh });
    return meta;
  }

  async #stat(id: string): Promise<Deno.FileInfo | undefined> {
    try {
      return await Deno.stat(join(this.#dir, id));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw folderUnusable(this.#dir, error);
    }
  }
}
