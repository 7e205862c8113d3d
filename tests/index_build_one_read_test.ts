/**
 * A start reads its files folder once. The sweep of what a crash left and
 * the build of the listing index each read the whole folder (600k names
 * at 300k files, one after the other), and a listing asked while the sweep
 * ran started the build's read alongside it. Now the build reads the
 * folder and sweeps the names it read (`FolderIndexOptions.sweep`): the
 * leftovers are removed all the same, before a sidecar is read, and every
 * committed file is listed.
 *
 * The reads are counted by a wrapper of `Deno.readDir` that hands on to
 * the real one: on the code before, the start read the folder twice.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { createLogger } from "../services/ops/logger.ts";
import { writeCommittedFiles } from "./fixtures/many_files.ts";
import { listDir, tempDir } from "./fixtures/temp_dir.ts";

/** Counts the reads of folder `dir` through `Deno.readDir` until disposed. */
function countReads(dir: string): { readonly count: number } & Disposable {
  const readDir = Deno.readDir;
  let count = 0;
  Deno.readDir = (path) => {
    if (String(path) === dir) count++;
    return readDir(path);
  };
  return {
    get count() {
      return count;
    },
    [Symbol.dispose]() {
      Deno.readDir = readDir;
    },
  };
}

Deno.test("A start reads the files folder once: the leftovers are swept from the names the index's build read", async () => {
  await using parent = await tempDir();
  const dir = join(parent.path, "files");
  await Deno.mkdir(dir);
  const written = writeCommittedFiles(dir, 3000);
  const leftovers = [
    `${"b".repeat(32)}.part`,
    `${"c".repeat(32)}.json.part`,
    `${"d".repeat(32)}.json`, // a sidecar whose content never came in
  ];
  for (const name of leftovers) await Deno.writeTextFile(join(dir, name), "x");
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    write: (line) => lines.push(JSON.parse(line)),
  });

  using reads = countReads(dir);
  const store = new LocalDiskStorage({ dir, logger, listWaitMs: 0 });
  try {
    store.startIndexing();
    // Asked at once, while the start's work has only begun: it joins it.
    const early = await store.list({ limit: 10 }).then(
      () => "listed",
      (error: Error) => error.name,
    );
    assert.ok(["listed", "IndexBuildingError"].includes(early), early);
    assert.equal(await store.indexing(120_000), undefined, "built");

    assert.equal(reads.count, 1, `the folder read ${reads.count} times`);
    const left = await listDir(dir);
    for (const name of leftovers) assert.ok(!left.includes(name), name);
    assert.equal(left.length, 2 * written.length);
    const swept = lines.find((line) => line.msg === "files.swept");
    assert.equal(swept?.removed, leftovers.length);
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({
        limit: 1000,
        ...(cursor === undefined ? {} : { cursor }),
      });
      listed.push(...page.items.map((meta) => meta.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    assert.deepEqual(new Set(listed), new Set(written.map((meta) => meta.id)));
    assert.equal(listed.length, written.length);
  } finally {
    await store.close();
    await logger.written();
  }
});
