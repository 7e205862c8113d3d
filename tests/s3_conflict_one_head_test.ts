/**
 * An upload whose claim on its id meets another upload's stored file (the
 * metadata object's `If-None-Match: *` PUT answered 412, the other file's
 * content there) is 409 "stored" after one HeadObject of `files/<id>`:
 * the look for a leftover already saw the content, and its answer says so
 * (`findHolder`). Before, the conflict path asked the store the same
 * HEAD twice. Real Ceph radosgw, the requests counted on the wire by a
 * loopback pass-through.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest } from "./fixtures/s3_app.ts";
import { newId } from "./fixtures/upload_events.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { S3Storage } from "../services/storage/s3.ts";
import { FileIdTakenError } from "../services/storage/storage.ts";

cephTest(
  "s3: an upload meeting a stored file of its id at the claim is 409 stored after one HeadObject",
  async () => {
    await using ceph = await sharedCeph();
    await using proxy = startTcpProxy({
      port: Number(new URL(ceph.endpoint).port),
    });
    using files = new S3Storage({
      endpoint: new URL(proxy.url),
      bucket: ceph.bucket,
      accessKeyId: ceph.accessKeyId,
      secretAccessKey: ceph.secretAccessKey,
    });
    const id = newId();
    const bytes = new TextEncoder().encode("first");
    const content = { size: bytes.length, sha256: sha256Hex(bytes) };
    // Both begun before either commits: the second meets the first's
    // claim and content only at its own claim.
    const first = await files.begin(id);
    const second = await files.begin(id);
    await first.write(bytes);
    await second.write(bytes);
    await first.commit(content);
    const before = proxy.requests.length;
    const refused = await second.commit(content).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof FileIdTakenError, String(refused));
    assert.equal(refused.holder, "stored");
    const sent = proxy.requests.slice(before);
    const heads = sent.filter((line) => line.startsWith("HEAD "));
    assert.deepEqual(
      heads,
      [`HEAD /${ceph.bucket}/files/${id} HTTP/1.1`],
      sent.join("\n"),
    );
    await second.abort();
    assert.equal(await files.delete(id), true);
  },
);
