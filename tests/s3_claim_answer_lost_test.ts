/**
 * The answer to an upload's claim on its id lost, against a real Ceph
 * radosgw (a loopback pass-through in front of it loses the answer to the
 * metadata object's `PUT` after radosgw stored it). The claim is written
 * only if absent (`If-None-Match: *`), so sent again (the store client
 * sends a PUT again over fetch when its connection breaks) it meets its own
 * object: that was a 409 "another upload was stored first" with nothing
 * stored, and, the metadata object left behind, every retry under the same
 * `Upload-Id` was 409 too, for good (no sweep takes the metadata of an
 * upload that was aborted). A claim whose answer never came left the same.
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
// The request line of the PUT of a metadata object.
const CLAIM = /^PUT \/[^ ]*\/meta\//;

cephTest(
  "s3: the answer to the claim on the id lost after the store took it: stored (201) or 503 then stored on a retry, never 409",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
    const { proxy, served } = app;
    const id = "0".repeat(31) + "c";
    const body = bytesOf(6 * MiB, 3);
    proxy.dropAnswerTo(CLAIM);
    const first = await uploadAs(served.url, id, body);
    assert.notEqual(first.status, 409, JSON.stringify(first.body));
    await assertStoredFirstOrOnRetry(ceph, served.url, id, body, first);
  },
);

cephTest(
  "s3: the answer to the claim on the id never came: 503 within twice S3_TIMEOUT_MS, nothing kept, a retry under the Upload-Id is stored",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
    const { proxy, served } = app;
    const id = "0".repeat(31) + "d";
    const body = bytesOf(6 * MiB, 4);
    proxy.holdAnswerTo(CLAIM);
    const started = performance.now();
    const first = await uploadAs(served.url, id, body);
    assert.equal(first.status, 503, JSON.stringify(first.body));
    assert.ok(performance.now() - started < 2 * TIMEOUT_MS + 2500);
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
    const retry = await uploadAs(served.url, id, body);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    await assertStoredAlone(ceph, served.url, id, sha256Hex(body));
  },
);
