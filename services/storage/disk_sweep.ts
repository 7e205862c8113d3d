/**
 * The sweep of a {@linkcode LocalDiskStorage} folder: what a crash leaves
 * behind is removed, what a live upload of another process sharing the
 * folder is writing or committing is left alone.
 *
 * @module
 */

import { join } from "node:path";
import { leftAside } from "./disk_delete.ts";
import { clearPartUnlessLive, uploadIsLive } from "./disk_upload.ts";
import { scanFolder, SIDECAR } from "./folder_index.ts";
import { exists } from "./path_exists.ts";
import { LoopTurns } from "../http/loop_turns.ts";
import type { Logger } from "../ops/logger.ts";

// Names gone through between two looks at the clock.
const TURN_CHECK_EVERY = 1024;

const PART = /^([0-9a-f]{32})(\.json)?\.part$/;

/**
 * Removes from folder `dir` the `<id>.part` and `<id>.json.part` files,
 * the files a conditional delete set aside (`disk_delete.ts`) and the
 * sidecars whose content was never committed, unless upload `<id>` is
 * live ({@linkcode uploadIsLive}: another process sharing the folder may
 * be writing it, or committing it). Resolves with how many were removed.
 */
export async function sweepFolder(dir: string): Promise<number> {
  using turns = new LoopTurns();
  const { names } = await scanFolder(dir, turns);
  return await sweepListed(dir, names, turns);
}

/**
 * {@linkcode sweepFolder} of the folder as listed in `names` (its files),
 * which loses the names removed: the start's build of the listing index
 * reads the folder once and sweeps what it read (`folder_index.ts`).
 */
export async function sweepListed(
  dir: string,
  names: Set<string>,
  turns: LoopTurns,
): Promise<number> {
  // It runs while the service answers (index_build.ts): the loop gives the
  // event loop a turn every DEFAULT_MAX_HOLD_MS, where most names
  // (committed files) are judged without a file system call and 100k files
  // held every request for 1.7 s.
  const live = new Map<string, Promise<boolean>>();
  const isLive = (id: string) => {
    let answer = live.get(id);
    if (!answer) live.set(id, answer = uploadIsLive(dir, id));
    return answer;
  };
  const removed: string[] = [];
  let seen = 0;
  for (const name of names) {
    if (await sweepOne(dir, name, names, isLive)) removed.push(name);
    if (seen++ % TURN_CHECK_EVERY === 0 && turns.starved()) await turns.turn();
  }
  // Dropped once judged: an orphan sidecar is judged by its content's name.
  for (const name of removed) names.delete(name);
  return removed.length;
}

/**
 * The start's sweep, of the names the index's build read
 * (`FolderIndexOptions.sweep`): what it removed is logged (`files.swept`);
 * a sweep that fails is logged (`files.sweep_failed`) and the build goes
 * on, as it did when the two ran one after the other.
 */
export async function sweepAtStart(
  dir: string,
  names: Set<string>,
  turns: LoopTurns,
  logger?: Logger,
): Promise<void> {
  try {
    const removed = await sweepListed(dir, names, turns);
    if (removed > 0) logger?.warn("files.swept", { removed, dir });
  } catch (error) {
    logger?.warn("files.sweep_failed", { error, dir });
  }
}

/** Removes `name` if it is a leftover; `names` is the folder as listed. */
async function sweepOne(
  dir: string,
  name: string,
  names: Set<string>,
  isLive: (id: string) => Promise<boolean>,
): Promise<boolean> {
  const part = PART.exec(name);
  // An upload's own file goes only while its lock is held here: an upload
  // that made it but has not locked it yet then makes it again.
  if (part && !part[2]) {
    return await clearPartUnlessLive(dir, part[1]!) === "removed";
  }
  const orphan = SIDECAR.exec(name);
  const id = part?.[1] ?? (orphan && !names.has(orphan[1]!) && orphan[1]);
  const leftover = id
    // Judged not live first, then without content: a commit renames its
    // sidecar in, then its content, all while holding its lock.
    ? !(await isLive(id)) && !(orphan && await exists(join(dir, id)))
    : await leftAside(dir, name);
  if (!leftover) return false;
  try {
    await Deno.remove(join(dir, name));
    return true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return false;
  }
}
