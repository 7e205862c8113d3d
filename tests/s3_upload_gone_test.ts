/**
 * A multipart upload aborted from outside while the service still sends
 * its parts (an operator's abort, a lifecycle rule's
 * `AbortIncompleteMultipartUpload`, the bucket purged): the upload answers
 * 503 "nothing was kept" with `Retry-After`, `/readyz` stays 200 (the
 * store serves), and the next upload is stored. Before, the part's refusal
 * (radosgw: 404 `NoSuchKey`) was an unknown S3 error: 500, "the server
 * failed". Seen first as the flake of tests/s3_bucket_missing_test.ts's
 * upload in flight (2 runs of 5): radosgw refused the part that way when
 * the bucket was gone.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
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
