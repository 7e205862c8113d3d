/**
 * The answer to an upload's completion (`CompleteMultipartUpload`) lost,
 * against a real Ceph radosgw behind a loopback pass-through. The
 * completion is the commit point: once radosgw acted on it the file is
 * whole in the bucket, so an upload whose client was told anything but 201
 * must have nothing kept, and one told 201 must be stored. Lost with the
 * connection closed, the store client sends the completion again over a
 * new connection and radosgw answers the repeat of a completed upload 200:
 * 201, stored. Held back for good, the wait for it ends at
 * `S3_TIMEOUT_MS`: 503, and the abort removes the completed file and its
 * metadata, so a retry under the same `Upload-Id` is stored (not 409).
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, sha256Hex } from "./fixtures/s3_app.ts";
import {
  assertStoredAlone,
  assertStoredFirstOrOnRetry,
  behindProxy,
  uploadAs,
} from "./fixtures/s3_proxied.ts";

const MiB = 1024 * 1024;
// Long enough for a 5 MiB part on a loaded machine.
const TIMEOUT_MS = 2500;
// The request line of CompleteMultipartUpload.
const COMPLETE = /^POST \/[^ ]*\/files\/[^ ?]*\?uploadId=/;

cephTest(
  "s3: the answer to the completion lost after the store acted on it: 201 and stored, or 503 with nothing kept",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
    const { proxy, served } = app;
    const id = "0".repeat(31) + "e";
    const body = bytesOf(6 * MiB, 5);
    proxy.dropAnswerTo(COMPLETE);
    const first = await uploadAs(served.url, id, body);
    await assertStoredFirstOrOnRetry(ceph, served.url, id, body, first);
  },
);

cephTest(
  "s3: the answer to the completion never came: 503 within twice S3_TIMEOUT_MS, the completed file removed, a retry under the Upload-Id stored",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
    const { proxy, served } = app;
    const id = "0".repeat(31) + "f";
    const body = bytesOf(6 * MiB, 6);
    proxy.holdAnswerTo(COMPLETE);
    const started = performance.now();
    const first = await uploadAs(served.url, id, body);
    assert.equal(first.status, 503, JSON.stringify(first.body));
    assert.ok(performance.now() - started < 2 * TIMEOUT_MS + 2500);
    const gone = await fetch(`${served.url}/files/${id}`);
    await gone.body?.cancel();
    assert.equal(gone.status, 404);
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
    const retry = await uploadAs(served.url, id, body);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    await assertStoredAlone(ceph, served.url, id, sha256Hex(body));
  },
);
