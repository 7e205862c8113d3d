/**
 * The conditional delete of a {@linkcode LocalDiskStorage} file
 * (`DELETE /files/:id` with `If-Match` or `If-Unmodified-Since`), made one
 * step on the disk. The precondition is decided on the file's metadata read
 * fresh from its sidecar (not from a listing index, which may hold a
 * version another process has since replaced), if it is the content's own
 * (`disk_sidecar.ts`: read between two looks at the content that agree).
 * False, or not its own, the file is left untouched: a 412 never makes it
 * look missing. True, the
 * content `<id>` is renamed aside to `<id>.<random>.deleting`, an atomic
 * claim no other process or request can share, and it goes with its
 * sidecar if it is the content the verdict was on; if another version took
 * the id between the look and the claim, it is linked back (`link` never
 * replaces: if a new upload took the id meanwhile, the new file stays and
 * the old one goes, as its commit would have replaced it) and the verdict
 * is made again on it.
 *
 * Before, the content was set aside first and the sidecar read while it
 * was: for that time a `GET` of the file was 404 and an upload of its id
 * admitted, even when the precondition was false and the file stayed. What
 * is left: a file whose precondition holds looks missing between the claim
 * and the removal of its sidecar, as it is being deleted. A crash while a
 * file is aside leaves `<id>.<random>.deleting`, which the next start's
 * sweep removes once it is {@linkcode ASIDE_GRACE_MS} old.
 *
 * @module
 */

import { join } from "node:path";
import { folderUnusable } from "./disk_errors.ts";
import { readSidecarOf } from "./disk_sidecar.ts";
import { exists, statIfAny } from "./path_exists.ts";
import type { FileMetadata } from "./metadata.ts";
import type { ConditionalDeletion } from "./storage.ts";

/** Names of the files set aside: `<id>.<16 hex>.deleting`. */
export const ASIDE = /^[0-9a-f]{32}\.[0-9a-f]{16}\.deleting$/;
/** Age past which a file aside is a crash's leftover, ms. */
export const ASIDE_GRACE_MS = 60_000;

/** What {@linkcode deleteOnDiskIf} needs of the store. */
export interface DiskFile {
  /** The folder. */
  dir: string;
  /** The file's id, already checked. */
  id: string;
  /** Reads the file's sidecar; `undefined` when there is none. */
  readMetadata: (id: string) => Promise<FileMetadata | undefined>;
}

// Looks made again when the file changed while looked at, or another
// version took the id between the look and the claim (each such race
// needs a delete, and an upload for a new version, in between).
const TRIES = 3;

/** Deletes `file` if `holds` is true of its metadata; see the module doc. */
export async function deleteOnDiskIf(
  file: DiskFile,
  holds: (meta: FileMetadata) => boolean,
): Promise<ConditionalDeletion> {
  let verdict: ConditionalDeletion = "missing";
  for (let attempt = 0; attempt < TRIES; attempt++) {
    let seen: Seen | undefined;
    try {
      seen = await look(file);
    } catch (error) {
      throw folderUnusable(file.dir, error);
    }
    if (seen === undefined) return "missing";
    const { meta, own } = seen;
    // Not its content's own: the file changed while looked at (deleted,
    // replaced), so it is looked at again. Refused at once, a file
    // another request deleted just then was 412 naming the ETag sent
    // in If-Match, where it is 404 (tests/disk_delete_if_gone_test.ts).
    if (!own) {
      verdict = { refused: meta };
      continue;
    }
    if (!holds(meta)) return { refused: meta };
    const claimed = await claim(file, seen);
    if (claimed !== "replaced") return claimed;
    verdict = { refused: meta };
  }
  return verdict;
}

/**
 * A file's metadata, whether it is its content's own, the content, and
 * its sidecar as looked at before it was read.
 */
interface Seen {
  meta: FileMetadata;
  own: boolean;
  content: Deno.FileInfo;
  sidecar: Deno.FileInfo | undefined;
}

/**
 * The file's metadata, from its sidecar read between two looks at its
 * content (`disk_sidecar.ts`); `undefined` when either is missing (a
 * sidecar is written before its content is renamed in, and removed after
 * it goes).
 */
async function look(file: DiskFile): Promise<Seen | undefined> {
  const path = join(file.dir, file.id);
  // Looked at first, the sidecar is the one read or an older one gone
  // from its name by then: the delete removes it only if still there.
  const sidecar = await statIfAny(join(file.dir, `${file.id}.json`));
  const content = await statIfAny(path);
  if (content === undefined) return undefined;
  const reading = await readSidecarOf({
    before: content,
    readSidecar: () => file.readMetadata(file.id),
    lookAgain: () => statIfAny(path),
  });
  if (reading === undefined) return undefined;
  return { meta: reading.meta, own: reading.own, content, sidecar };
}

/**
 * Takes the content aside and deletes it with its sidecar if it is the
 * one `seen`; puts it back if another version took the id ("replaced").
 */
async function claim(
  file: DiskFile,
  seen: Seen,
): Promise<ConditionalDeletion | "replaced"> {
  const { dir, id } = file;
  const path = join(dir, id);
  const aside = asidePath(dir, id);
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw folderUnusable(dir, error);
  }
  try {
    if (!sameContent(await Deno.stat(aside), seen.content)) {
      await putBack(aside, path);
      return "replaced";
    }
    await Deno.remove(aside);
    // Only that sidecar: an upload of the id may commit its own in at any
    // time now. Removed by name once no content was under the id, it took
    // a new upload's sidecar renamed in just then, and the new file was
    // left without metadata (GET 404 after its 201, never listed): 4-14 of
    // 120 rounds of tests/disk_delete_if_commit_race_test.ts.
    if (seen.sidecar) await removeSidecarIfSame(dir, id, seen.sidecar);
  } catch (error) {
    throw folderUnusable(dir, error);
  }
  return "deleted";
}

/** A fresh name to set a file of `id` aside under (see {@linkcode ASIDE}). */
function asidePath(dir: string, id: string): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  return join(dir, `${id}.${Array.from(random, hex).join("")}.deleting`);
}

/**
 * Removes the sidecar `<id>.json` of folder `dir` if it is still the file
 * `sidecar` (a `stat` of it taken before its content was deleted): an
 * upload of the id that committed meanwhile (in this process or another)
 * renamed its own sidecar over it, which stays. Removed by name, it went
 * with the deleted file: the new file was left without metadata (`GET`
 * 404, never listed, its bytes on the disk for good), 12 times in 25 s of
 * `DELETE` against uploads of the same ids on a second instance. The
 * sidecar is set aside (atomic), looked at, and put back if not the one
 * or if content is under the id again (`link` never replaces a newer one).
 */
export async function removeSidecarIfSame(
  dir: string,
  id: string,
  sidecar: Deno.FileInfo,
): Promise<void> {
  const path = join(dir, `${id}.json`);
  const aside = asidePath(dir, id);
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const moved = await Deno.stat(aside);
  // Content under the name again: an upload committed meanwhile, and its
  // sidecar, renamed in before it, is this one or already back in place.
  const same = moved.dev === sidecar.dev && moved.ino === sidecar.ino;
  if (same && !(await exists(join(dir, id)))) {
    await Deno.remove(aside);
  } else {
    await putBack(aside, path);
  }
}

/**
 * Whether `a` and `b` are one version of a file's content: its identity
 * but for the ctime, which the rename aside sets.
 */
function sameContent(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size &&
    a.mtime?.getTime() === b.mtime?.getTime();
}

/** Links the content back under its name, unless taken; drops the aside. */
async function putBack(aside: string, path: string): Promise<void> {
  try {
    await Deno.link(aside, path);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  await Deno.remove(aside);
}

/**
 * Whether `name` in `dir` is a file set aside by a process that crashed
 * (renamed more than {@linkcode ASIDE_GRACE_MS} ago: a rename sets ctime).
 */
export async function leftAside(dir: string, name: string): Promise<boolean> {
  if (!ASIDE.test(name)) return false;
  try {
    const { ctime } = await Deno.stat(join(dir, name));
    return ctime !== null && ctime.getTime() < Date.now() - ASIDE_GRACE_MS;
  } catch {
    return false;
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
