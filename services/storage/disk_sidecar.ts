/**
 * Whether the sidecar `<id>.json` of a {@linkcode LocalDiskStorage} file is
 * the own of the content it is read for: the one judgement both the
 * version check of a download or listing (`disk_versions.ts`) and the
 * conditional delete (`disk_delete.ts`) make.
 *
 * The sidecar is read between two looks at the content (`stat`, or
 * `fstat` of it opened). It is the content's own when both looks show the
 * same identity (device, inode, size, mtime and ctime) and the sidecar
 * gives that size: an upload writes its sidecar before it renames the
 * content into place, and a delete removes the content before the
 * sidecar, so a newer version's sidecar can only be there once the
 * content looked at is gone (or, for content set aside by a delete, was
 * written while it was aside: then it names the new upload's size, which
 * may be the same; a new file with the same inode, size and times to the
 * millisecond would also pass for the old one). Where `stat` gives no
 * inode or ctime there is no identity, and only the size is compared.
 *
 * @module
 */

import type { FileMetadata } from "./metadata.ts";

/** A sidecar read for some content, and what was judged of it. */
export interface SidecarReading {
  /** The metadata the sidecar holds. */
  meta: FileMetadata;
  /** Whether it is the content's own (see the module doc). */
  own: boolean;
  /** The content's identity, `undefined` where `stat` gives none. */
  identity: string | undefined;
}

/** How {@linkcode readSidecarOf} reads and looks. */
export interface SidecarLooks {
  /** The content as a look before the read saw it. */
  before: Deno.FileInfo;
  /** Reads the sidecar; `undefined` when there is none. */
  readSidecar: () => Promise<FileMetadata | undefined>;
  /** Looks at the content again; `undefined` once it is gone. */
  lookAgain: () => Promise<Deno.FileInfo | undefined>;
}

/**
 * The identity of the content `info` describes, or `undefined` where
 * `stat` gives no inode or ctime.
 */
export function identityOf(info: Deno.FileInfo): string | undefined {
  const { dev, ino, size, mtime, ctime } = info;
  if (ino === null || ctime === null) return undefined;
  return `${dev}:${ino}:${size}:${mtime?.getTime()}:${ctime.getTime()}`;
}

/**
 * The sidecar read between `before` and another look at the content, and
 * whether it is the content's own; `undefined` when there is no sidecar.
 */
export async function readSidecarOf(
  looks: SidecarLooks,
): Promise<SidecarReading | undefined> {
  const { before, readSidecar, lookAgain } = looks;
  const meta = await readSidecar();
  if (meta === undefined) return undefined;
  const identity = identityOf(before);
  if (meta.size !== before.size) return { meta, own: false, identity };
  const after = await lookAgain();
  const own = after !== undefined && identityOf(after) === identity;
  return { meta, own, identity };
}
