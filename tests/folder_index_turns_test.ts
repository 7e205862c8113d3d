/**
 * Tests of the listing index over a folder of many files: a refresh that
 * goes through tens of thousands of files gives the event loop turns (it
 * held every request for 150-575 ms at 100k files, seconds at 300k), and
 * dropping or adding many files at once keeps the list order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { compareFiles, FileIndex } from "../services/storage/file_index.ts";
import { FolderIndex } from "../services/storage/folder_index.ts";
import {
  type FileMetadata,
  newId,
  parseMetadata,
} from "../services/storage/metadata.ts";
import { writeCommittedFiles } from "./fixtures/many_files.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const meta = (created: string, id = newId()): FileMetadata => ({
  id,
  size: 1,
  sha256: "0".repeat(64),
  created,
});

/** The index of `dir`, reading each sidecar as the store does. */
function folderIndex(dir: string, maxHoldMs: number): FolderIndex {
  const options = {
    dir,
    readEntry: async (id: string) => {
      const text = await Deno.readTextFile(join(dir, `${id}.json`));
      const found = parseMetadata(id, text);
      return found === undefined ? "unreadable" as const : { meta: found };
    },
    restoreDir: () => Promise.resolve(),
    maxHoldMs,
  };
  return new FolderIndex(options);
}

/** Counts the event loop's turns (a zero-delay timer each) until stopped. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let timer = setTimeout(function tick() {
    turns++;
    timer = setTimeout(tick, 0);
  }, 0);
  return {
    stop() {
      clearTimeout(timer);
      return turns;
    },
  };
}

Deno.test("A refresh dropping 20k files another process deleted gives the event loop turns", async () => {
  await withTempDir(async (parent) => {
    const dir = join(parent, "files");
    await Deno.mkdir(dir);
    writeCommittedFiles(dir, 20_000);
    // maxHoldMs 0: a turn at every look at the clock, so the count does
    // not depend on how fast this machine goes through the files.
    const folder = folderIndex(dir, 0);
    await folder.refresh();
    assert.equal(folder.index.size, 20_000);

    // Every file gone at once (an operator's rm, another instance's
    // cleanup): the folder's names are read in a step or two, and the
    // 20k files the index knows are gone through after that.
    await Deno.remove(dir, { recursive: true });
    await Deno.mkdir(dir);
    const turns = countTurns();
    await folder.sync();
    const seen = turns.stop();
    assert.equal(folder.index.size, 0);
    // One turn per 2048 files at least (~10); before, the drops ran in
    // one stretch and only the few file system calls gave turns.
    assert.ok(seen >= 6, `${seen} turns of the event loop during the refresh`);
  });
});

Deno.test("FileIndex drops and adds many files at once in list order", () => {
  const all = Array.from(
    { length: 3000 },
    (_, i) => meta(`2024-03-0${i % 9 + 1}T00:00:00.000Z`),
  );
  const index = new FileIndex();
  index.addAll(all.slice(0, 2000).map((m) => ({ meta: m })));
  // Half of those dropped, the other thousand merged in, one replaced.
  const dropped = all.slice(0, 2000).filter((_, i) => i % 2 === 0);
  assert.equal(index.deleteAll([...dropped.map((m) => m.id), newId()]), 1000);
  const replaced = { ...all[1]!, size: 7 };
  index.addAll([...all.slice(2000), replaced].map((m) => ({ meta: m })));
  const kept = all.filter((_, i) => i >= 2000 || i % 2 === 1)
    .map((m) => m.id === replaced.id ? replaced : m)
    .sort(compareFiles);
  assert.equal(index.size, 2000);
  assert.deepEqual(index.page({ limit: 1000 }).items, kept.slice(0, 1000));
  assert.deepEqual(
    index.page({ limit: 1000, after: kept[999]! }).items,
    kept.slice(1000),
  );
  for (const m of dropped) assert.equal(index.has(m.id), false);
  assert.equal(index.get(replaced.id)?.size, 7);
  assert.equal(index.deleteAll(dropped.map((m) => m.id)), 0);
});
