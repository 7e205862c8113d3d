/**
 * Two instances on one bucket (a real Ceph radosgw) given the same
 * client-chosen `Upload-Id` at once: each sees only its own uploads in
 * progress, so the store decides. The metadata object is written only if
 * absent (`If-None-Match: *`): one upload is stored (201), the other is
 * 409 and keeps nothing, and the stored file is the 201's, whole.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";

const MiB = 1024 * 1024;

cephTest(
  "s3: one Upload-Id through two instances at once: one 201, the other 409, the stored file is the winner's",
  async () => {
    await using ceph = await sharedCeph();
    await using a = await serveApp({ args: s3Args(ceph) });
    await using b = await serveApp({ args: s3Args(ceph) });
    const id = "0".repeat(31) + "7";
    const bodies = [bytesOf(6 * MiB, 1), bytesOf(6 * MiB, 2)];
    const answers = await Promise.all([a, b].map(async (served, i) => {
      const res = await fetch(`${served.url}/files`, {
        method: "POST",
        body: bodies[i]!,
        headers: { "upload-id": id },
      });
      return { status: res.status, body: await res.json(), sent: i };
    }));
    const statuses = answers.map((x) => x.status).sort();
    assert.deepEqual(statuses, [201, 409], JSON.stringify(answers));
    const won = answers.find((x) => x.status === 201)!;
    assert.equal(won.body.sha256, sha256Hex(bodies[won.sent]!));
    for (const served of [a, b]) {
      const got = await fetch(`${served.url}/files/${id}`);
      assert.equal(got.status, 200);
      const bytes = new Uint8Array(await got.arrayBuffer());
      assert.equal(sha256Hex(bytes), won.body.sha256);
    }
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${id}`, `meta/${id}.json`],
      uploads: [],
    });
  },
);
