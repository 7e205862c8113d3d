/**
 * One upload into a {@linkcode LocalDiskStorage} folder: the bytes go to
 * `<id>.part`; the commit fsyncs them, makes sure no file `<id>` is
 * stored (another process's, sharing the folder), writes the `<id>.json`
 * sidecar (through `<id>.json.part`, fsynced, renamed), renames
 * `<id>.part` to `<id>` and fsyncs the folder, so a file named `<id>` is
 * always complete and durable, and never replaced by an upload. An abort
 * removes whatever the upload wrote.
 *
 * @module
 */

import { join } from "node:path";
import { EarlyFlush } from "./early_flush.ts";
import { committedMetadata, type FileMetadata } from "./metadata.ts";
import { folderUnwritable } from "./disk_errors.ts";
import { exists } from "./path_exists.ts";
import { writeAll } from "./write_all.ts";
import {
  FileIdTakenError,
  type StorageUpload,
  type UploadContent,
} from "./storage.ts";

/**
 * The most one write call hands the kernel. Linux (6.18, ext4 with large
 * folios) puts a write into page-cache folios as large as the write
 * allows, and on this project's hosts (VMs with free page reporting) the
 * large blocks those need are mostly memory handed back to the host,
 * which faults in again on first touch: 1 GiB in 2 MiB writes cost 1.5-2 s
 * of CPU in the writing threads, in 256 KiB writes 0.26-0.66 s; 128 KiB
 * alike, 512 KiB ~0.5 s; an upload's blocking threads 970-1,540 -> 380-850
 * ms per GiB in paired rounds (bench/PROFILE.md, "writes in 256 KiB
 * pieces"). The reader's buffers stay large (fewer queue, hash and sink
 * hand-offs); only the write calls are cut.
 */
export const WRITE_PIECE_BYTES = 256 * 1024;

/** Removes `path`; resolves whether it was there to remove. */
async function removeIfExists(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return false;
  }
}

/**
 * Whether upload `id` in folder `dir` is live: its `<id>.part` exists and
 * an open upload holds its lock, in this process or another sharing the
 * folder (the workers of `deno serve --parallel`, a process started while
 * the previous one still finishes its uploads). The lock is `flock(2)`'s:
 * it belongs to the open file, so it conflicts within one process too, and
 * it goes with the process, so a crash's `.part` is free. The
 * sweep removes the leftovers of uploads that are not live only.
 */
export async function uploadIsLive(dir: string, id: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(dir, `${id}.part`), { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    return !(await file.tryLock(true));
  } finally {
    // Closing releases the lock if it was taken here.
    file.close();
  }
}

/**
 * What {@linkcode clearPartUnlessLive} found: the upload `live` (left
 * alone), its file `removed` there, or `absent` (gone before it looked:
 * committed or aborted meanwhile).
 */
export type PartClearing = "live" | "removed" | "absent";

/**
 * Removes `<id>.part` of folder `dir` unless upload `id` is live
 * ({@linkcode uploadIsLive}). It
 * is removed while its lock is held here, so an upload that made it but
 * had not locked it yet finds it gone once it has the lock, and makes it
 * again ({@linkcode DiskUpload.open}), instead of writing on into a file
 * no name leads to. `absent` is told apart from `removed`: the sweep
 * counts what it removed, and a `.part` it listed that a commit renamed
 * meanwhile was counted as a leftover removed (`files.swept`).
 */
export async function clearPartUnlessLive(
  dir: string,
  id: string,
): Promise<PartClearing> {
  const path = join(dir, `${id}.part`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
  try {
    if (!(await file.tryLock(true))) return "live";
    return await removeIfExists(path) ? "removed" : "absent";
  } finally {
    file.close();
  }
}

/** How many times an upload makes its `<id>.part` before giving up. */
const OPEN_TRIES = 3;

/**
 * A new `<id>.part` in `dir`, not locked yet. One already there is
 * removed if it is a crash's leftover and made anew; if it is live, or
 * made again by another process meanwhile, the id is taken.
 */
async function createPart(dir: string, id: string): Promise<Deno.FsFile> {
  const path = join(dir, `${id}.part`);
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.open(path, { write: true, createNew: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw folderUnwritable(error);
      }
    }
    const cleared = attempt === 0 &&
      await clearPartUnlessLive(dir, id).catch((error) =>
          Promise.reject(folderUnwritable(error))
        ) !== "live";
    if (!cleared) {
      throw new FileIdTakenError(id, "running");
    }
  }
}

/**
 * Locks `file` and resolves whether `path` still names it: false when a
 * sweep removed it before the lock was had (the file is then nobody's).
 */
async function lockedUnderName(
  file: Deno.FsFile,
  path: string,
): Promise<boolean> {
  try {
    await file.lock(true);
    const held = await file.stat();
    const named = await Deno.stat(path);
    return named.ino === held.ino && named.dev === held.dev;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    file.close();
    throw folderUnwritable(error);
  }
}

/** An upload in progress in folder `dir`; see {@linkcode DiskUpload.open}. */
export class DiskUpload implements StorageUpload {
  /** The id the file gets once committed. */
  readonly id: string;
  readonly #dir: string;
  #file: Deno.FsFile | undefined;
  readonly #flush: EarlyFlush;
  #committing = false;
  // Once the commit found the id free and began writing, the sidecar and
  // the content may exist under their final names too: an abort then
  // removes those as well (before, they are another upload's).
  #placing = false;

  private constructor(dir: string, id: string, file: Deno.FsFile) {
    this.#dir = dir;
    this.id = id;
    this.#file = file;
    this.#flush = new EarlyFlush(join(dir, `${id}.part`));
  }

  /**
   * Creates `<id>.part` in `dir` and returns the upload, which holds an
   * exclusive lock on it until its commit renamed it or its abort: see
   * {@linkcode uploadIsLive}. A `<id>.part` already there is another
   * process's live upload of the id (a folder shared by several processes):
   * {@linkcode FileIdTakenError}, 409; or the leftover of a process that
   * crashed, which is removed (the start's sweep of the processes still
   * running had passed). Both were 500 before (`AlreadyExists`), the
   * leftover until some process sharing the folder started again.
   */
  static async open(dir: string, id: string): Promise<DiskUpload> {
    const path = join(dir, `${id}.part`);
    for (let attempt = 0; attempt < OPEN_TRIES; attempt++) {
      const file = await createPart(dir, id);
      // Made and locked in two steps: in between, another process's sweep
      // may have taken the file for a crash's leftover and removed it
      // (clearPartUnlessLive). Then it is made again.
      if (await lockedUnderName(file, path)) {
        return new DiskUpload(dir, id, file);
      }
      file.close();
    }
    throw new FileIdTakenError(id, "running");
  }

  /**
   * Appends all of `chunk` to `<id>.part`; the bytes start going to the
   * disk in the background ({@linkcode EarlyFlush}).
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (!this.#file) throw new TypeError("The upload is no longer open");
    await writeAll(this.#file, chunk, { pieceBytes: WRITE_PIECE_BYTES }).catch((
      error,
    ) => Promise.reject(folderUnwritable(error)));
    this.#flush.wrote(chunk.byteLength);
  }

  /**
   * fsync of the content, the check that the id is free (else
   * {@linkcode FileIdTakenError}, "stored"), the sidecar (the commit point
   * is `<id>` appearing, so it goes first: a crash in between leaves an
   * orphan sidecar, which the sweep removes), the rename, the folder's
   * fsync.
   */
  async commit(content: UploadContent): Promise<FileMetadata> {
    const file = this.#file;
    if (!file || this.#committing) {
      throw new TypeError("The upload is no longer open");
    }
    this.#committing = true;
    try {
      return await this.#commit(file, content);
    } catch (error) {
      throw folderUnwritable(error);
    }
  }

  async #commit(
    file: Deno.FsFile,
    content: UploadContent,
  ): Promise<FileMetadata> {
    await this.#flush.settle();
    await file.sync();
    const metadata = committedMetadata(this.id, content);
    const [part, metaPart, meta, final] = this.#paths();
    await this.#checkFree(final);
    this.#placing = true;
    // The lock (the open file) is held until `<id>` exists: until then a
    // sweep of another process would take the sidecar for an orphan. On a
    // failure it is held on until the abort removed what was written.
    const sidecar = await Deno.open(metaPart, { write: true, createNew: true });
    try {
      await writeAll(
        sidecar,
        new TextEncoder().encode(JSON.stringify(metadata) + "\n"),
      );
      await sidecar.sync();
    } finally {
      sidecar.close();
    }
    // The folder is opened before the renames, its fsync made after them
    // through that handle: past the commit point (`<id>` in place) nothing
    // needs a descriptor. Opened after, out of descriptors (EMFILE), the
    // commit failed with `<id>` already in place, and the abort removed it:
    // a stored upload thrown away, answered 503. Now the shortage meets the
    // commit before anything is in place (503, nothing kept); one at a
    // time, as before: the sidecar's descriptor is closed by then.
    const folder = await Deno.open(this.#dir);
    try {
      await Deno.rename(metaPart, meta);
      await Deno.rename(part, final);
      // settle() above waited for the flush in flight: nothing to wait for.
      void this.#close();
      await folder.sync();
    } finally {
      folder.close();
    }
    return metadata;
  }

  /**
   * Throws {@linkcode FileIdTakenError} ("stored") when a file is stored
   * under the id (`final`). This upload's `<id>.part` lock makes it the
   * only one of the id that can commit now, so such a file was committed
   * by another before this one made its `<id>.part`: another process on
   * the folder (`deno serve --parallel` workers, instances sharing
   * `DATA_DIR`) whose commit fell between this upload's 409 check and its
   * begin. The renames replaced it: both uploads answered 201 and the
   * first's bytes were gone (19 of 200 pairs of same-id uploads at two
   * instances, 2 of 300 at two `--parallel` workers). It stays, and this
   * upload ends as S3's loser does (409, nothing kept).
   */
  async #checkFree(final: string): Promise<void> {
    if (!(await exists(final))) return;
    // The lock stays held: the abort removes `<id>.part` under it.
    throw new FileIdTakenError(this.id, "stored");
  }

  /**
   * Removes `<id>.part` (and, once a commit found the id free, the sidecar
   * and the content), then closes the file. Rejects with the first removal
   * that failed, after trying them all; the sweep on the next start takes
   * what is left. Removed while the lock is held: closed first (as before),
   * another process's upload of the id found the `.part` unlocked, cleared
   * it as a crash's leftover, made and locked its own, and lost it to the
   * removal here, its commit failing (`NotFound`; 19-20 of 20 rounds of
   * tests/disk_abort_lock_test.ts, with an early flush in flight).
   */
  async abort(): Promise<void> {
    const [part, ...committed] = this.#paths();
    const paths = this.#placing ? [part, ...committed] : [part];
    let failure: { error: unknown } | undefined;
    for (const path of paths) {
      try {
        await removeIfExists(path);
      } catch (error) {
        failure ??= { error };
      }
    }
    await this.#close();
    if (failure) throw failure.error;
  }

  #close(): Promise<void> {
    const flushed = this.#flush.close();
    try {
      this.#file?.close();
    } catch {
      // Already closed by a failing sync; nothing more to release.
    }
    this.#file = undefined;
    return flushed;
  }

  #paths(): [string, string, string, string] {
    const dir = this.#dir;
    const id = this.id;
    return [
      join(dir, `${id}.part`),
      join(dir, `${id}.json.part`),
      join(dir, `${id}.json`),
      join(dir, id),
    ];
  }
}
