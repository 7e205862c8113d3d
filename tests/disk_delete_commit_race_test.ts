/**
 * An unconditional `DELETE` of a local-disk file racing the commit of an
 * upload of the same id (another instance sharing `DATA_DIR`, as
 * `deno serve --parallel` workers do) removes only the sidecar of the
 * content it deleted: it used to remove `<id>.json` by name, the new
 * upload's included, and the new file stayed on the disk without metadata
 * (`GET` 404 after its 201, never listed). The commit lands as its last two
 * renames (`fixtures/landing_commit.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { newId } from "../services/storage/metadata.ts";
import { stageCommit } from "./fixtures/landing_commit.ts";

async function present(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Stores `size` zero bytes as file `id` through `store`. */
async function store(
  storage: LocalDiskStorage,
  id: string,
  size: number,
): Promise<void> {
  const upload = await storage.begin(id);
  await upload.write(new Uint8Array(size));
  await upload.commit({ size, sha256: "0".repeat(64) });
}

const ROUNDS = 60;

Deno.test("a delete racing a commit of the same id never leaves the new file without its sidecar", async () => {
  const dir = await Deno.makeTempDir({ prefix: "delete_race_" });
  try {
    // Two stores on one folder: two processes sharing DATA_DIR.
    const uploader = new LocalDiskStorage({ dir });
    const deleter = new LocalDiskStorage({ dir });
    const bare: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = newId();
      await store(uploader, id, 10);
      await using commit = await stageCommit(dir, id, { size: 20 });
      // The commit lands a few filesystem calls after the delete starts,
      // more each round, so its renames fall on either side of the
      // delete's steps.
      const landing = (async () => {
        for (let call = 0; call < round % 6; call++) await Deno.lstat(dir);
        await commit.land();
      })();
      await Promise.all([landing, deleter.delete(id)]);
      const content = await present(join(dir, id));
      const sidecar = await present(join(dir, `${id}.json`));
      if (content && !sidecar) bare.push(id);
      // Either the new file whole, or nothing.
      if (content && sidecar) {
        assert.equal((await uploader.stat(id))?.size, 20);
      }
    }
    assert.deepEqual(
      bare,
      [],
      `${bare.length} of ${ROUNDS} files lost their sidecar`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
