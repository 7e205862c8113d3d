/**
 * The count of the start's sweep (`files.swept`, `removed`) against
 * uploads committing in another process on a shared `DATA_DIR`: a second
 * instance started on the folder while the first stored a 12 MB upload
 * logged `files.swept` `removed: 1`, though the upload was stored (201)
 * and nothing was removed. The sweep listed the upload's `<id>.part`, the
 * commit renamed it, and the sweep counted the name it no longer found
 * as a leftover removed: an operator reading the log was told a crash had
 * left something. Now only a file the sweep removed counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

const ROUNDS = 200;

Deno.test("a sweep racing commits of another process's uploads counts nothing removed", () =>
  withTempDir(async (dir) => {
    const uploader = new LocalDiskStorage({ dir });
    // Its own instance, as another process's: flock(2) locks conflict
    // between open files, in one process too.
    const sweeper = new LocalDiskStorage({ dir });
    await uploader.ensureDir();
    let counted = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const id = i.toString(16).padStart(32, "0");
      const bytes = new TextEncoder().encode(`content ${i}`);
      const upload = await uploader.begin(id);
      await upload.write(bytes);
      // The sweep lists the folder with the `.part` in it, while the
      // commit renames it away.
      const [, removed] = await Promise.all([
        upload.commit({ size: bytes.length, sha256: sha256Hex(bytes) }),
        sweeper.sweep(),
      ]);
      counted += removed;
    }
    const left = await listDir(dir);
    // Every upload was stored, so the sweep had nothing to remove.
    assert.equal(left.filter((name) => name.endsWith(".part")).length, 0);
    assert.equal(
      left.filter((name) => /^[0-9a-f]{32}$/.test(name)).length,
      ROUNDS,
    );
    assert.equal(
      counted,
      0,
      `${counted} of ${ROUNDS} sweeps counted a removal`,
    );
  }));
