/**
 * An unconditional `DELETE` of a local-disk file racing the commit of an
 * upload of the same id (another instance sharing `DATA_DIR`, as
 * `deno serve --parallel` workers do) removes only the sidecar of the
 * content it deleted: it used to remove `<id>.json` by name, the new
 * upload's included, and the new file stayed on the disk without metadata
 * (`GET` 404 after its 201, never listed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { newId } from "../services/storage/metadata.ts";

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

Deno.test("a delete racing a commit of the same id never leaves the new file without its sidecar", async () => {
  const dir = await Deno.makeTempDir({ prefix: "delete_race_" });
  try {
    // Two stores on one folder: two processes sharing DATA_DIR.
    const uploader = new LocalDiskStorage({ dir });
    const deleter = new LocalDiskStorage({ dir });
    const bare: string[] = [];
    for (let round = 0; round < 60; round++) {
      const id = newId();
      await store(uploader, id, 10);
      const upload = await uploader.begin(id);
      await upload.write(new Uint8Array(20));
      const committing = upload.commit({ size: 20, sha256: "1".repeat(64) });
      // The delete starts while the commit writes its sidecar, a few
      // filesystem calls later each round, so its steps fall on either
      // side of the commit's renames.
      const sidecarPart = join(dir, `${id}.json.part`);
      for (let look = 0; look < 50 && !(await present(sidecarPart)); look++);
      for (let call = 0; call < round % 6; call++) await Deno.lstat(dir);
      const [committed] = await Promise.allSettled([
        committing,
        deleter.delete(id),
      ]);
      assert.equal(committed.status, "fulfilled");
      const content = await present(join(dir, id));
      const sidecar = await present(join(dir, `${id}.json`));
      if (content && !sidecar) bare.push(id);
      // Either the new file whole, or nothing.
      if (content && sidecar) {
        assert.equal((await uploader.stat(id))?.size, 20);
      }
    }
    assert.deepEqual(bare, [], `${bare.length} of 60 files lost their sidecar`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
