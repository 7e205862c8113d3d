/**
 * A download from an S3 store sends the bytes of the version its headers
 * describe: `FileStorage.read` given the version `stat` found answers
 * nothing once the object under the id is another (deleted and stored
 * again by another instance sharing the bucket, between the stat and the
 * GET), and the download looks it up again, as on the local disk. Before,
 * the GET took whatever object was there: the new bytes went out under
 * the old `ETag` and `Content-Length`. Real Ceph radosgw.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest } from "./fixtures/s3_app.ts";
import { storeFile } from "./fixtures/stored_file.ts";
import { newId } from "./fixtures/upload_events.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { S3Storage } from "../services/storage/s3.ts";

function s3Options(ceph: Ceph) {
  return {
    endpoint: new URL(ceph.endpoint),
    bucket: ceph.bucket,
    accessKeyId: ceph.accessKeyId,
    secretAccessKey: ceph.secretAccessKey,
  };
}

cephTest(
  "s3: read of a version gives nothing once another instance replaced the object (between stat and GET)",
  async () => {
    await using ceph = await sharedCeph();
    const options = s3Options(ceph);
    using a = new S3Storage(options);
    using b = new S3Storage(options);
    const id = newId();
    await storeFile(b, id, "old");
    const seen = await a.stat(id);
    assert.ok(seen);
    assert.equal(await b.delete(id), true);
    const fresh = await storeFile(b, id, "new and longer");
    const whole = await a.read(id, undefined, seen);
    await whole?.cancel();
    assert.equal(whole, undefined);
    const ranged = await a.read(id, { start: 0, end: 1 }, seen);
    await ranged?.cancel();
    assert.equal(ranged, undefined);
    // The version there now reads, once stat has seen it.
    const now = await a.stat(id);
    assert.deepEqual(now, fresh);
    const stream = await a.read(id, { start: 4, end: 6 }, now);
    assert.ok(stream);
    assert.equal(await new Response(stream).text(), "and");
  },
);

cephTest(
  "s3: a download under way when another instance replaces the object goes on with the old bytes (radosgw)",
  async () => {
    await using ceph = await sharedCeph();
    using a = new S3Storage(s3Options(ceph));
    using b = new S3Storage(s3Options(ceph));
    const id = newId();
    const old = bytesOf(24 * 1024 * 1024, 1);
    await storeFile(b, id, old);
    const seen = await a.stat(id);
    assert.ok(seen);
    const stream = await a.read(id, undefined, seen);
    assert.ok(stream);
    const reader = stream.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    const hash = createHash("sha256").update(first.value);
    let length = first.value.length;
    assert.equal(await b.delete(id), true);
    await storeFile(b, id, bytesOf(24 * 1024 * 1024, 2));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      length += value.length;
    }
    assert.equal(length, old.length);
    assert.equal(hash.digest("hex"), sha256Hex(old));
  },
);

cephTest(
  "s3: stat gives no metadata of another size than the content (another version's)",
  async () => {
    await using ceph = await sharedCeph();
    using a = new S3Storage(s3Options(ceph));
    const id = newId();
    const meta = await storeFile(a, id, "four");
    const other = { ...meta, size: 40 };
    const put = await ceph.client.fetch(
      `${ceph.endpoint}/${ceph.bucket}/meta/${id}.json`,
      { method: "PUT", body: JSON.stringify(other) },
    );
    await put.body?.cancel();
    assert.equal(put.status, 200);
    assert.equal(await a.stat(id), undefined);
  },
);
