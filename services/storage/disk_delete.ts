/**
 * The conditional delete of a {@linkcode LocalDiskStorage} file
 * (`DELETE /files/:id` with `If-Match` or `If-Unmodified-Since`), made one
 * step on the disk: the content `<id>` is first renamed aside to
 * `<id>.<random>.deleting`, an atomic claim no other process or request
 * can share, and the precondition is decided on that version's own
 * metadata, read from its sidecar (not from a listing index, which may
 * hold a version another process has since replaced), if it is that
 * content's own (`disk_sidecar.ts`). True, the content aside and the
 * sidecar go; false, the content is linked back (`link` never replaces:
 * if a new upload took the id meanwhile, the new file stays and the old
 * one goes, as its commit would have replaced it).
 *
 * What is left: while the file is aside (the time to read one sidecar),
 * it looks missing to others (a `GET` is 404, an upload of its id is
 * admitted); and a sweep of another process starting in that moment may
 * take its sidecar for an orphan. A crash while a file is aside leaves
 * `<id>.<random>.deleting`, which the next start's sweep removes once it
 * is {@linkcode ASIDE_GRACE_MS} old.
 *
 * @module
 */

import { join } from "node:path";
import { folderUnusable } from "./disk_errors.ts";
import { readSidecarOf } from "./disk_sidecar.ts";
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

/** Deletes `file` if `holds` is true of its metadata; see the module doc. */
export async function deleteOnDiskIf(
  file: DiskFile,
  holds: (meta: FileMetadata) => boolean,
): Promise<ConditionalDeletion> {
  const { dir, id } = file;
  const path = join(dir, id);
  const random = crypto.getRandomValues(new Uint8Array(8));
  const aside = join(
    dir,
    `${id}.${Array.from(random, hex).join("")}.deleting`,
  );
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw folderUnusable(dir, error);
  }
  let verdict: ConditionalDeletion;
  try {
    verdict = await decide(file, aside, holds);
  } catch (error) {
    await putBack(aside, path).catch(() => {});
    throw folderUnusable(dir, error);
  }
  if (verdict !== "deleted") {
    await putBack(aside, path).catch((error) => {
      throw folderUnusable(dir, error);
    });
    return verdict;
  }
  try {
    await Deno.remove(aside);
    // The sidecar, unless a new upload took the id meanwhile (then the
    // sidecar is the new file's).
    if (!(await exists(path))) await removeIfAny(join(dir, `${id}.json`));
  } catch (error) {
    throw folderUnusable(dir, error);
  }
  return "deleted";
}

/**
 * The verdict on the content set aside: its sidecar's metadata, if it is
 * the content's own (`disk_sidecar.ts`; a sidecar of a newer upload of the
 * id, written meanwhile, is not).
 */
async function decide(
  file: DiskFile,
  aside: string,
  holds: (meta: FileMetadata) => boolean,
): Promise<ConditionalDeletion> {
  const reading = await readSidecarOf({
    before: await Deno.stat(aside),
    readSidecar: () => file.readMetadata(file.id),
    lookAgain: () => Deno.stat(aside),
  });
  if (reading === undefined) return "missing";
  const { meta, own } = reading;
  return own && holds(meta) ? "deleted" : { refused: meta };
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeIfAny(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
