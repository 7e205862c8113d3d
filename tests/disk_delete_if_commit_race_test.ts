/**
 * A conditional `DELETE` (`If-Match`) of a local-disk file racing the
 * commit of an upload of the same id (another instance sharing `DATA_DIR`,
 * as `deno serve --parallel` workers do) removes only the sidecar of the
 * content it deleted, as the unconditional one does
 * (`disk_delete_commit_race_test.ts`): it removed `<id>.json` by name once
 * it found no content under the id, the new upload's sidecar included when
 * its commit renamed it in just then, and the new file stayed on the disk
 * without metadata (`GET` 404 after its 201, never listed). The commit
 * lands as its last two renames (`fixtures/landing_commit.ts`).
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

const ROUNDS = 120;

Deno.test("a conditional delete racing a commit of the same id never leaves the new file without its sidecar", async () => {
  const dir = await Deno.makeTempDir({ prefix: "delete_if_race_" });
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
        for (let call = 0; call < round % 12; call++) await Deno.lstat(dir);
        await commit.land();
      })();
      await Promise.all([
        landing,
        deleter.deleteIf(id, (meta) => meta.size === 10),
      ]);
      const content = await present(join(dir, id));
      const sidecar = await present(join(dir, `${id}.json`));
      if (content && !sidecar) bare.push(id);
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
