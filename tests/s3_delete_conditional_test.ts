/**
 * `DELETE /files/:id` with preconditions on an S3 store (real Ceph
 * radosgw): decided on the metadata of the file there (412 with its
 * `ETag`, the file kept; 204 when true; 404 for none). radosgw 16 ignores
 * `If-Match` on DeleteObject (shown here): that is why the delete is
 * claimed by a conditional PUT of a tombstone over the metadata object
 * decided on (services/storage/s3_delete.ts;
 * tests/files_delete_twice_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";

async function send(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  await res.body?.cancel();
  return res;
}

cephTest(
  "s3: DELETE with a false precondition is 412 and keeps the file; a true one deletes",
  async () => {
    await using ceph = await sharedCeph();
    await using served = await serveApp({ args: s3Args(ceph) });
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      body: bytesOf(1000),
    });
    assert.equal(res.status, 201);
    const { id, sha256 } = await res.json();
    const url = `${served.url}/files/${id}`;
    const refused = await send(url, {
      method: "DELETE",
      headers: { "if-match": '"not-its-etag"' },
    });
    assert.equal(refused.status, 412);
    assert.equal(refused.headers.get("etag"), `"${sha256}"`);
    assert.equal((await send(url, { method: "HEAD" })).status, 200);
    const deleted = await send(url, {
      method: "DELETE",
      headers: { "if-match": `"${sha256}"` },
    });
    assert.equal(deleted.status, 204);
    assert.equal((await send(url, { method: "HEAD" })).status, 404);
    const missing = await send(url, {
      method: "DELETE",
      headers: { "if-match": "*" },
    });
    assert.equal(missing.status, 404);
  },
);

cephTest(
  "s3: radosgw ignores If-Match on DeleteObject (why a delete is claimed by a conditional PUT)",
  async () => {
    await using ceph = await sharedCeph();
    const object = `${ceph.endpoint}/${ceph.bucket}/if-match-probe`;
    const put = await ceph.client.fetch(object, {
      method: "PUT",
      body: new Uint8Array([1, 2, 3]),
    });
    await put.body?.cancel();
    assert.equal(put.status, 200);
    const res = await ceph.client.fetch(object, {
      method: "DELETE",
      headers: { "if-match": '"00000000000000000000000000000000"' },
    });
    await res.body?.cancel();
    // A store that honours it answers 412 and keeps the object.
    assert.equal(res.status, 204);
    const head = await ceph.client.fetch(object, { method: "HEAD" });
    await head.body?.cancel();
    assert.equal(head.status, 404);
  },
);
