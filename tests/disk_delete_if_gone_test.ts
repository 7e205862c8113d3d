/**
 * A conditional `DELETE` (`If-Match`) of a local-disk file that another
 * request or process deletes meanwhile is 404, as when the file was
 * already gone: it found the content gone at its second look (the one
 * that tells whether the sidecar read is the content's own) and refused
 * the delete, 412 naming the deleted file's `ETag`, the very one sent in
 * `If-Match` (9 of 150 pairs of `DELETE`s at two instances on one
 * `DATA_DIR`, Python `requests`). A look that finds the file changing is
 * now made again before the verdict.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { newId } from "../services/storage/metadata.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROUNDS = 200;

Deno.test("a conditional delete of a file deleted meanwhile is missing, never refused", () =>
  withTempDir(async (dir) => {
    // Two stores on one folder: two processes sharing DATA_DIR.
    const here = new LocalDiskStorage({ dir });
    const there = new LocalDiskStorage({ dir });
    const refused: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = newId();
      const upload = await here.begin(id);
      await upload.write(new Uint8Array(10));
      await upload.commit({ size: 10, sha256: "0".repeat(64) });
      // The other delete starts a few filesystem calls later each round,
      // so it falls on either side of the conditional one's looks.
      const other = (async () => {
        for (let call = 0; call < round % 8; call++) await Deno.lstat(dir);
        await there.delete(id);
      })();
      const [done] = await Promise.all([here.deleteIf(id, () => true), other]);
      if (typeof done !== "string") refused.push(id);
    }
    assert.deepEqual(
      refused,
      [],
      `${refused.length} of ${ROUNDS} conditional deletes were refused`,
    );
  }));
