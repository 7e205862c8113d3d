/**
 * A `DELETE /files/:id` on an S3 store (a real Ceph radosgw) that stopped
 * after its claim, before the content went: the content's DeleteObject
 * held by a loopback pass-through until `S3_TIMEOUT_MS` (a store that
 * stops answering, an instance that dies there). The delete is 503, and
 * the tombstone it wrote over the metadata object stays with the content:
 * the file is 404 and unlisted, an upload of its id 409; a retry of the
 * delete finishes it (404: the file was gone already), and so does the
 * leftover sweep of an instance that runs on (`S3_LEFTOVER_SWEEP_MS`),
 * once the tombstone is older than `UPLOAD_IDLE_TIMEOUT_MS`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { sendDiscarding } from "./fixtures/files_service.ts";
import { bytesOf, cephTest } from "./fixtures/s3_app.ts";
import {
  assertSweptEmpty,
  behindProxy,
  behindSweepingProxy,
  deleteHeld,
  uploadAs,
} from "./fixtures/s3_proxied.ts";

/** The request line of the DELETE of a content object. */
const CONTENT_DELETE = /^DELETE \/[^ ]*\/files\//;

/**
 * Stores `id` through `url`, deletes it with the content's DeleteObject
 * held (`hold`): 503, the content and the tombstone left, the file gone.
 */
async function deleteAfterClaim(
  ceph: Ceph,
  url: string,
  id: string,
  hold: () => void,
): Promise<void> {
  await deleteHeld(ceph, url, id, hold, [`files/${id}`, `meta/${id}.json`]);
  const meta = await ceph.client.fetch(
    `${ceph.endpoint}/${ceph.bucket}/meta/${id}.json`,
  );
  assert.equal((await meta.json()).deleting, id);
  assert.equal((await sendDiscarding(`${url}/files/${id}`)).status, 404);
  const listed = await (await fetch(`${url}/files`)).json();
  assert.deepEqual(listed.items, []);
}

cephTest(
  "s3: a delete stopped after its claim is 503, the file 404; its retry finishes it (404)",
  async () => {
    await using ceph = await sharedCeph();
    // Long enough for a 5 MiB part on a loaded machine.
    await using app = await behindProxy(ceph, { timeoutMs: 2500 });
    const url = app.served.url;
    const id = "0".repeat(31) + "d";
    await deleteAfterClaim(ceph, url, id, () => {
      app.proxy.holdRequest(CONTENT_DELETE);
    });
    // The content is there: the id is taken until the delete is finished.
    assert.equal((await uploadAs(url, id, bytesOf(1000))).status, 409);
    const retry = await sendDiscarding(`${url}/files/${id}`, {
      method: "DELETE",
    });
    assert.equal(retry.status, 404);
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
    assert.equal((await uploadAs(url, id, bytesOf(1000))).status, 201);
  },
);

cephTest(
  "s3: a delete stopped after its claim is finished by the leftover sweep",
  async () => {
    await using ceph = await sharedCeph();
    // The tombstone is still there when the 503 comes.
    await using app = await behindSweepingProxy(ceph);
    const id = "0".repeat(31) + "e";
    await deleteAfterClaim(ceph, app.served.url, id, () => {
      app.proxy.holdRequest(CONTENT_DELETE);
    });
    await assertSweptEmpty(ceph, `files/${id} and its tombstone swept`);
  },
);
