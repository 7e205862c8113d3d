/**
 * EarlyFlush: past `everyBytes` of writes it opens a second handle of the
 * file and flushes it in the background, closes it with the upload, and
 * gives up quietly (the commit's fsync still runs) when it cannot open the
 * file. A disk upload bigger than the flush interval commits intact.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { EarlyFlush } from "../services/storage/early_flush.ts";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

/** How many of this process's descriptors point at `path`. */
async function handlesOf(path: string): Promise<number> {
  let n = 0;
  for await (const entry of Deno.readDir("/proc/self/fd")) {
    try {
      if (await Deno.readLink(`/proc/self/fd/${entry.name}`) === path) n++;
    } catch {
      // Closed while listing.
    }
  }
  return n;
}

Deno.test("EarlyFlush opens a second handle once everyBytes were written, and close() lets it go", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.part");
    using file = await Deno.open(path, { write: true, createNew: true });
    const flush = new EarlyFlush(path, { everyBytes: 1024 });
    await file.write(new Uint8Array(1000));
    flush.wrote(1000);
    await flush.settle();
    assert.equal(await handlesOf(path), 1, "no flush below everyBytes");
    await file.write(new Uint8Array(100));
    flush.wrote(100);
    await flush.settle();
    assert.equal(await handlesOf(path), 2, "the flush's own handle");
    await flush.close();
    assert.equal(await handlesOf(path), 1);
  });
});

Deno.test("EarlyFlush's close() waits for the flush in flight, so none outlives an aborted upload", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.part");
    using file = await Deno.open(path, { write: true, createNew: true });
    const flush = new EarlyFlush(path, { everyBytes: 1 });
    // Enough dirty pages that the fdatasync takes a while on a real disk.
    const piece = new Uint8Array(1024 * 1024).fill(7);
    for (let i = 0; i < 64; i++) await file.write(piece);
    flush.wrote(64 * piece.byteLength);
    while (await handlesOf(path) < 2) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // The fdatasync now runs and holds the flush's descriptor until it
    // returns; an abort that does not wait for it leaves disk work running
    // after the upload ended (the op sanitizer's leak in a loaded full run).
    await flush.close();
    assert.equal(await handlesOf(path), 1, "only the writer's own handle");
  });
});

Deno.test("EarlyFlush gives up quietly when the file cannot be opened", async () => {
  await withTempDir(async (dir) => {
    const flush = new EarlyFlush(join(dir, "missing"), { everyBytes: 1 });
    flush.wrote(10);
    await flush.settle();
    flush.wrote(10);
    await flush.settle();
    await flush.close();
  });
});

Deno.test("EarlyFlush checks everyBytes", () => {
  for (const everyBytes of [0, -1, 1.5, NaN]) {
    assert.throws(() => new EarlyFlush("/x", { everyBytes }), RangeError);
  }
});

Deno.test("a disk upload past the flush interval commits intact", async () => {
  await withTempDir(async (dir) => {
    const storage = await createLocalDiskStorage({ dir });
    const upload = await storage.begin();
    const hash = createHash("sha256");
    const piece = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 40; i++) {
      piece.fill(i);
      hash.update(piece);
      await upload.write(piece);
    }
    const sha256 = hash.digest("hex");
    const meta = await upload.commit({ size: 40 * piece.byteLength, sha256 });
    const stored = await Deno.readFile(join(dir, upload.id));
    assert.equal(stored.byteLength, 40 * piece.byteLength);
    assert.equal(createHash("sha256").update(stored).digest("hex"), sha256);
    assert.equal(meta.sha256, sha256);
    assert.equal(await handlesOf(join(dir, `${upload.id}.part`)), 0);
  });
});
