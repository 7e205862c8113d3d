/**
 * The store's answer to an upload's commit points lost, against a real Ceph
 * radosgw behind a loopback pass-through that drops or holds the answer to
 * one request after radosgw acted on it:
 *
 * - **The claim on the id** (the metadata object's `PUT`, written only if
 *   absent with `If-None-Match: *`). Sent again when its connection broke, it
 *   met its own object: that was a 409 "another upload was stored first"
 *   with nothing stored and, the metadata object left behind, every retry
 *   under the same `Upload-Id` 409 too, for good. A claim whose answer never
 *   came left the same.
 * - **The completion** (`CompleteMultipartUpload`), the commit point: once
 *   radosgw acted on it the file is whole in the bucket, so a client told
 *   anything but 201 must find nothing kept, and one told 201 a stored file.
 *   Lost with the connection closed, it is sent again and radosgw answers
 *   the repeat 200: 201, stored. Held back for good, the wait ends at
 *   `S3_TIMEOUT_MS`: 503, and the abort removes the completed file and its
 *   metadata, so a retry under the same `Upload-Id` is stored (not 409).
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
import { until } from "./fixtures/until.ts";

const MiB = 1024 * 1024;
// Long enough for a 5 MiB part on a loaded machine.
const TIMEOUT_MS = 2500;

/** One commit point: the request whose answer is lost, and ids to use. */
interface CommitPoint {
  name: string;
  request: RegExp;
  // Distinct ids and bodies per test, so no test meets another's object.
  dropped: { id: string; seed: number };
  held: { id: string; seed: number };
}

const POINTS: CommitPoint[] = [
  {
    name: "the claim on the id",
    request: /^PUT \/[^ ]*\/meta\//,
    dropped: { id: "0".repeat(31) + "c", seed: 3 },
    held: { id: "0".repeat(31) + "d", seed: 4 },
  },
  {
    name: "the completion",
    request: /^POST \/[^ ]*\/files\/[^ ?]*\?uploadId=/,
    dropped: { id: "0".repeat(31) + "e", seed: 5 },
    held: { id: "0".repeat(31) + "f", seed: 6 },
  },
];

for (const point of POINTS) {
  cephTest(
    `s3: the answer to ${point.name} lost after the store acted on it: 201 and stored, or 503 then stored on a retry, never 409`,
    async () => {
      await using ceph = await sharedCeph();
      await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
      const { proxy, served } = app;
      const { id, seed } = point.dropped;
      const body = bytesOf(6 * MiB, seed);
      proxy.dropAnswerTo(point.request);
      const first = await uploadAs(served.url, id, body);
      assert.notEqual(first.status, 409, JSON.stringify(first.body));
      await assertStoredFirstOrOnRetry(ceph, served.url, id, body, first);
    },
  );

  cephTest(
    `s3: the answer to ${point.name} never came: 503 within twice S3_TIMEOUT_MS, nothing kept, a retry under the Upload-Id stored`,
    async () => {
      await using ceph = await sharedCeph();
      await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
      const { proxy, served } = app;
      const { id, seed } = point.held;
      const body = bytesOf(6 * MiB, seed);
      proxy.holdAnswerTo(point.request);
      const first = await uploadAs(served.url, id, body);
      assert.equal(first.status, 503, JSON.stringify(first.body));
      // Within twice S3_TIMEOUT_MS: the 503 is one S3_TIMEOUT_MS run out on
      // the held request, which went out once (not waited on again).
      const held = proxy.requests.filter((line) => point.request.test(line));
      assert.equal(held.length, 1, held.join("\n"));
      await until(
        () => served.records.some((r) => r.msg === "files.storage_unavailable"),
        "the 503 logged",
      );
      const why = served.records.find((r) =>
        r.msg === "files.storage_unavailable"
      );
      assert.match(
        JSON.stringify(why?.error),
        new RegExp(
          `did not answer ${held[0]!.split(" ")[0]}: ` +
            `The object store sent nothing for ${TIMEOUT_MS} ms`,
        ),
      );
      const gone = await fetch(`${served.url}/files/${id}`);
      await gone.body?.cancel();
      assert.equal(gone.status, 404);
      assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
      const retry = await uploadAs(served.url, id, body);
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      await assertStoredAlone(ceph, served.url, id, sha256Hex(body));
    },
  );
}
