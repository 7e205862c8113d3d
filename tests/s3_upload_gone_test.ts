/**
 * A multipart upload aborted from outside while the service still sends
 * its parts (an operator's abort, a lifecycle rule's
 * `AbortIncompleteMultipartUpload`, the bucket purged): the upload answers
 * 503 "nothing was kept" with `Retry-After`, `/readyz` stays 200 (the
 * store serves), and the next upload is stored. Before, the part's refusal
 * (radosgw: 404 `NoSuchKey`) was an unknown S3 error: 500, "the server
 * failed". Seen first as the flake of tests/s3_bucket_missing_test.ts's
 * upload in flight (2 runs of 5): radosgw refused the part that way when
 * the bucket was gone. Aborted after its last part, just before the
 * `CompleteMultipartUpload` (held by a pass-through until the abort is
 * done), the completion's refusal (radosgw: 500 `InternalError`) called
 * the store down: `files.storage_down`, `/readyz` 503 for a store that
 * serves. It answers the same as a part's now.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { behindProxy, uploadAs } from "./fixtures/s3_proxied.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { readyz } from "./fixtures/storage_outage.ts";
import { until } from "./fixtures/until.ts";
import { xmlValue } from "../services/storage/s3_xml.ts";

const MiB = 1024 * 1024;

cephTest(
  "s3: the multipart upload aborted from outside under an upload in flight: 503 with Retry-After, nothing kept, /readyz 200, the next upload stored",
  async () => {
    await using ceph = await sharedCeph();
    await using service = await spawnService(s3Args(ceph));
    const rest = Promise.withResolvers<void>();
    // The second 5 MiB part is held back until the upload is aborted.
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytesOf(6 * MiB));
        await rest.promise;
        controller.enqueue(bytesOf(6 * MiB, 3));
        controller.close();
      },
    });
    const pending = fetch(`${service.url}/files`, { method: "POST", body });
    const listing = `${ceph.endpoint}/${ceph.bucket}/?uploads`;
    let upload = "";
    await until(async () => {
      upload = await (await ceph.client.fetch(listing)).text();
      return upload.includes("<Upload>");
    }, "the upload's multipart upload begun");
    const key = xmlValue(upload, "Key")!;
    const id = encodeURIComponent(xmlValue(upload, "UploadId")!);
    const aborted = await ceph.client.fetch(
      `${ceph.endpoint}/${ceph.bucket}/${key}?uploadId=${id}`,
      { method: "DELETE" },
    );
    assert.equal(aborted.status, 204, await aborted.text());
    rest.resolve();
    const res = await pending;
    assert.equal(res.status, 503, await res.clone().text());
    assert.equal(res.headers.get("retry-after"), "5");
    const { detail } = await res.json() as { detail: string };
    assert.match(detail, /nothing was kept$/);
    assert.equal((await readyz(service.url)).status, 200);

    const again = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf(1000),
    });
    assert.equal(again.status, 201);
    await again.body?.cancel();
  },
);

/** The request line of a `CompleteMultipartUpload`. */
const COMPLETE = /^POST \/[^ ]*\/files\/[^ ?]*\?uploadId=/;

cephTest(
  "s3: the multipart upload aborted from outside after its last part, before the completion: 503 with Retry-After, nothing kept, the store not called down, the next upload stored",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: 5000 });
    const { proxy, served } = app;
    let aborted = 0;
    // Every part is stored; the completion goes out once its upload is gone.
    proxy.actBefore(COMPLETE, async (line) => {
      const target = line.split(" ")[1]!;
      const res = await ceph.client.fetch(`${ceph.endpoint}${target}`, {
        method: "DELETE",
      });
      await res.body?.cancel();
      aborted = res.status;
    });
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      body: bytesOf(6 * MiB, 7),
    });
    assert.equal(aborted, 204);
    assert.equal(res.status, 503, await res.clone().text());
    assert.equal(res.headers.get("retry-after"), "5");
    const { detail } = await res.json() as { detail: string };
    assert.match(detail, /nothing was kept$/);
    const down = served.records.filter((r) => r.msg === "files.storage_down");
    assert.deepEqual(down, []);
    assert.equal((await readyz(served.url)).status, 200);
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });

    const again = await uploadAs(served.url, "0".repeat(31) + "9", bytesOf(99));
    assert.equal(again.status, 201, JSON.stringify(again.body));
  },
);
