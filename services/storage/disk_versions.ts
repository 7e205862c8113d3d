/**
 * Which version of a {@linkcode LocalDiskStorage} file is there: the
 * metadata of the content `<id>` now holds, never an older version's. A
 * process sharing the folder (`deno serve --parallel` workers, a second
 * instance) may delete a file and store new content under the same id (a
 * client's `Upload-Id`); the listing index keeps the metadata it read
 * first, so answering a download from it gave the new bytes under the old
 * `ETag` and length.
 *
 * The metadata is kept with the identity of the content it was checked
 * against (device, inode, size, mtime and ctime, as `stat` gives them): a
 * `stat` of `<id>` (or `fstat` of the file opened) that shows the same
 * identity needs no read; another one reads the sidecar again. A sidecar
 * read between two looks at the content that show the same identity is
 * that content's own: the sidecar is written before the content is renamed
 * into place and removed after it, so a newer upload's sidecar can only be
 * there once the content looked at is gone. (A new file with the same
 * inode, size and times to the millisecond would pass for the old one;
 * where `stat` gives no inode or ctime, the sidecar is read every time.)
 *
 * @module
 */

import { join } from "node:path";
import { folderUnusable } from "./disk_errors.ts";
import type { FileMetadata } from "./metadata.ts";

/** Options of {@linkcode DiskVersions}. */
export interface DiskVersionsOptions {
  /** The folder of the stored files. */
  dir: string;
  /** Reads file `id`'s sidecar; `undefined` when there is none. */
  readMetadata: (id: string) => Promise<FileMetadata | undefined>;
}

// A file replaced again and again while it is looked at is given up on
// (answered as missing) after this many looks.
const LOOKS = 3;

function identityOf(info: Deno.FileInfo): string | undefined {
  const { dev, ino, size, mtime, ctime } = info;
  if (ino === null || ctime === null) return undefined;
  return `${dev}:${ino}:${size}:${mtime?.getTime()}:${ctime.getTime()}`;
}

/** The metadata of the content the stored files hold now; see the module doc. */
export class DiskVersions {
  readonly #dir: string;
  readonly #readMetadata: DiskVersionsOptions["readMetadata"];
  readonly #known = new Map<string, { identity: string; meta: FileMetadata }>();

  /** Creates the map, empty. */
  constructor(options: DiskVersionsOptions) {
    const { dir, readMetadata } = options;
    this.#dir = dir;
    this.#readMetadata = readMetadata;
  }

  /** The metadata of the content at `<id>`, or `undefined` if none. */
  async current(id: string): Promise<FileMetadata | undefined> {
    for (let look = 0; look < LOOKS; look++) {
      const info = await this.#stat(id);
      if (!info?.isFile) {
        this.#known.delete(id);
        return undefined;
      }
      const meta = await this.of(id, info);
      if (meta !== undefined) return meta;
    }
    return undefined;
  }

  /**
   * The metadata of the content `info` describes (`stat` of `<id>`, or
   * `fstat` of it opened), or `undefined` when its sidecar is gone or not
   * its own (it was deleted or replaced meanwhile).
   */
  async of(id: string, info: Deno.FileInfo): Promise<FileMetadata | undefined> {
    const identity = identityOf(info);
    const known = this.#known.get(id);
    if (identity !== undefined && known?.identity === identity) {
      return known.meta;
    }
    const meta = await this.#readMetadata(id);
    if (meta === undefined || meta.size !== info.size) return undefined;
    const after = await this.#stat(id);
    if (after === undefined || identityOf(after) !== identity) return undefined;
    if (identity !== undefined) this.#known.set(id, { identity, meta });
    return meta;
  }

  /** Forgets file `id` (deleted here). */
  forget(id: string): void {
    this.#known.delete(id);
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
