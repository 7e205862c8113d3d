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
import { SIDECAR } from "./folder_index.ts";
import { exists } from "./path_exists.ts";
import { LoopTurns } from "../http/loop_turns.ts";

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
  // It runs while the service answers (index_build.ts): the names' loops
  // give the event loop a turn every DEFAULT_MAX_HOLD_MS, where most names
  // (committed files) are judged without a file system call and 100k files
  // held every request for 1.7 s.
  using turns = new LoopTurns();
  const names = new Set<string>();
  let seen = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) names.add(entry.name);
    if (seen++ % TURN_CHECK_EVERY === 0 && turns.starved()) await turns.turn();
  }
  const live = new Map<string, Promise<boolean>>();
  const isLive = (id: string) => {
    let answer = live.get(id);
    if (!answer) live.set(id, answer = uploadIsLive(dir, id));
    return answer;
  };
  let removed = 0;
  for (const name of names) {
    if (await sweepOne(dir, name, names, isLive)) removed++;
    if (seen++ % TURN_CHECK_EVERY === 0 && turns.starved()) await turns.turn();
  }
  return removed;
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
