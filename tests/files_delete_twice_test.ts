/**
 * Two `DELETE /files/:id` of one stored file at once, through two
 * instances sharing the store: one deletes it (204) and the other finds
 * none (404), on the disk and on S3 (a real Ceph radosgw) alike, with and
 * without `If-Match`. On the disk the content's unlink (or rename aside)
 * succeeds once; on S3 both were 204 (20 of 20 pairs): DeleteObject answers
 * 204 for a key already gone and radosgw ignores `If-Match` on it, so a
 * client could not tell which delete removed the file. The S3 delete now
 * claims the file with a conditional PUT of a tombstone over its metadata
 * object (`services/storage/s3_delete.ts`), which one of the two wins.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { putWithId, sendDiscarding } from "./fixtures/files_service.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { newId } from "./fixtures/upload_events.ts";

const ROUNDS = 10;

/**
 * Stores a file through `a`, deletes it through `a` and `b` at once
 * (`headers` on both), `ROUNDS` times; the pairs of statuses, sorted.
 */
async function deletePairs(
  a: string,
  b: string,
  withIfMatch: boolean,
): Promise<number[][]> {
  const pairs: number[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const id = newId();
    const etag = await putWithId(a, id, new Uint8Array(100).fill(round));
    const headers: Record<string, string> = withIfMatch
      ? { "if-match": etag }
      : {};
    const answers = await Promise.all(
      [a, b].map((origin) =>
        sendDiscarding(`${origin}/files/${id}`, { method: "DELETE", headers })
      ),
    );
    pairs.push(answers.map((res) => res.status).sort());
    assert.equal((await sendDiscarding(`${b}/files/${id}`)).status, 404);
  }
  return pairs;
}

const ONE_EACH = Array.from({ length: ROUNDS }, () => [204, 404]);

for (const withIfMatch of [false, true]) {
  const how = withIfMatch ? "with If-Match" : "unconditional";

  Deno.test(`disk: two DELETEs (${how}) of one file at once: 204 and 404`, () =>
    withTempDir(async (dir) => {
      await using a = await serveApp({ dataDir: dir });
      await using b = await serveApp({ dataDir: dir });
      assert.deepEqual(await deletePairs(a.url, b.url, withIfMatch), ONE_EACH);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/files`)), []);
    }));

  cephTest(
    `s3: two DELETEs (${how}) of one file at once: 204 and 404`,
    async () => {
      await using ceph = await sharedCeph();
      await using a = await serveApp({ args: s3Args(ceph) });
      await using b = await serveApp({ args: s3Args(ceph) });
      assert.deepEqual(await deletePairs(a.url, b.url, withIfMatch), ONE_EACH);
      // Nothing left: no content, no metadata object, no tombstone.
      assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
    },
  );
}
