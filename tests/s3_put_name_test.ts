/**
 * `PUT /files/<name>` and `PUT /files/<id>` on an S3 store (a real Ceph
 * radosgw): the name is kept in the stored metadata, so another instance
 * on the bucket lists it and serves it as the download's filename; a PUT
 * to a stored id is 409 on either instance and leaves the stored bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";

const MiB = 1024 * 1024;

cephTest(
  "s3: PUT /files/<name> keeps the name (listed and served by another instance); PUT /files/<id> of a stored id is 409",
  async () => {
    await using ceph = await sharedCeph();
    await using a = await serveApp({ args: s3Args(ceph) });
    await using b = await serveApp({ args: s3Args(ceph) });
    const bytes = bytesOf(6 * MiB, 3);
    const res = await fetch(`${a.url}/files/my%20file.bin`, {
      method: "PUT",
      body: bytes,
    });
    const stored = await res.json();
    assert.equal(res.status, 201, JSON.stringify(stored));
    assert.equal(stored.filename, "my file.bin");
    assert.equal(res.headers.get("location"), `/files/${stored.id}`);

    const listed = await (await fetch(`${b.url}/files`)).json();
    const item = listed.items.find((x: { id: string }) => x.id === stored.id);
    assert.equal(item?.filename, "my file.bin");
    const got = await fetch(`${b.url}/files/${stored.id}`);
    assert.equal(
      got.headers.get("content-disposition"),
      'attachment; filename="my file.bin"',
    );
    assert.equal(
      sha256Hex(new Uint8Array(await got.arrayBuffer())),
      stored.sha256,
    );

    const again = await fetch(`${b.url}/files/${stored.id}`, {
      method: "PUT",
      body: bytesOf(1024, 4),
    });
    assert.equal(again.status, 409, await again.text());
    const kept = await fetch(`${a.url}/files/${stored.id}`, { method: "HEAD" });
    assert.equal(kept.headers.get("etag"), `"${stored.sha256}"`);
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${stored.id}`, `meta/${stored.id}.json`],
      uploads: [],
    });
  },
);
