/**
 * The service's bucket deleted while it runs (a real Ceph radosgw:
 * `radosgw-admin bucket rm --purge-objects`). Before, every request to
 * `/files` answered a generic 500 ("the server failed") and wrote a
 * `request.failed` line with its stack (a download said 404 "No such
 * file"): a flood of error lines, for a store whose bucket is merely
 * gone. Now each is a 503 "Storage unavailable" with Retry-After whose
 * detail says the storage's bucket is missing (no bucket name or host),
 * one `files.storage_unavailable` error
 * line names S3_BUCKET and the store's answer (the next at most 10 s
 * later, counting), and once the bucket is made again the service stores
 * and serves files without a restart. A bucket missing at start still
 * stops the start (s3_misconfigured_start_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { ownUser } from "./fixtures/ceph_user.ts";
import { expectOutage } from "./fixtures/storage_outage.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { until } from "./fixtures/until.ts";

const REQUESTS = 30;

cephTest(
  "s3: the bucket deleted mid-run: a 503 with Retry-After each for list, download, upload and delete, one error line naming S3_BUCKET, served again once the bucket is made again",
  async () => {
    await using ceph = await sharedCeph();
    const { uid, lent, client } = await ownUser(ceph, "gone");
    try {
      const uncapped = ["--max-uploads-per-client", "0"];
      await using service = await spawnService(s3Args(lent, uncapped));
      const stored = await fetch(`${service.url}/files`, {
        method: "POST",
        body: bytesOf(10_000),
      });
      assert.equal(stored.status, 201);
      const { id } = await stored.json() as { id: string };
      const before = service.stderr.length;

      await ceph.admin(
        ...["bucket", "rm", `--bucket=${lent.bucket}`, "--purge-objects"],
      );
      await expectOutage(service, {
        id,
        asks: ["list", "download", "upload", "delete"],
        count: REQUESTS,
        prefix: "gone",
        detail: /storage's bucket is missing/,
        hidden: [lent.bucket, lent.endpoint, "NoSuchBucket"],
        before,
        reason: "StorageMissingError",
        error: /S3_BUCKET.*NoSuchBucket/,
      });

      // Made again (empty: its files went with it), no restart.
      const made = await client.fetch(`${lent.endpoint}/${lent.bucket}`, {
        method: "PUT",
      });
      assert.equal(made.status, 200, await made.text());
      const lost = await fetch(`${service.url}/files/${id}`);
      assert.equal(lost.status, 404);
      await lost.body?.cancel();
      const again = await fetch(`${service.url}/files`, {
        method: "POST",
        body: bytesOf(2000, 7),
      });
      assert.equal(again.status, 201);
      const { id: newId } = await again.json() as { id: string };
      const back = await fetch(`${service.url}/files/${newId}`);
      assert.equal(back.status, 200);
      assert.deepEqual(await back.bytes(), bytesOf(2000, 7));
      const listed = await fetch(`${service.url}/files`);
      assert.equal(listed.status, 200);
      const { items } = await listed.json() as { items: { id: string }[] };
      assert.deepEqual(items.map((f) => f.id), [newId]);
    } finally {
      await ceph.admin("user", "rm", `--uid=${uid}`, "--purge-data");
    }
  },
);

cephTest(
  "s3: the bucket deleted under an upload in flight: that upload answers 503 Storage unavailable, nothing kept; the next one is stored once the bucket is made again",
  async () => {
    await using ceph = await sharedCeph();
    const { uid, lent, client } = await ownUser(ceph, "inflight");
    try {
      await using service = await spawnService(s3Args(lent));
      const rest = Promise.withResolvers<void>();
      // More than one 5 MiB part, the second held back until the bucket
      // is gone.
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(bytesOf(6 * 1024 * 1024));
          await rest.promise;
          controller.enqueue(bytesOf(6 * 1024 * 1024, 3));
          controller.close();
        },
      });
      const pending = fetch(`${service.url}/files`, { method: "POST", body });
      const uploads = `${lent.endpoint}/${lent.bucket}/?uploads`;
      await until(
        async () =>
          (await (await client.fetch(uploads)).text()).includes(
            "<Upload>",
          ),
        "the upload's multipart upload begun",
      );
      await ceph.admin(
        ...["bucket", "rm", `--bucket=${lent.bucket}`, "--purge-objects"],
      );
      rest.resolve();
      const res = await pending;
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      const { detail } = await res.json() as { detail: string };
      assert.equal(
        detail,
        "The file storage's bucket is missing for now; nothing was kept",
      );

      const made = await client.fetch(`${lent.endpoint}/${lent.bucket}`, {
        method: "PUT",
      });
      assert.equal(made.status, 200, await made.text());
      const again = await fetch(`${service.url}/files`, {
        method: "POST",
        body: bytesOf(1000),
      });
      assert.equal(again.status, 201);
      const { id } = await again.json() as { id: string };
      const listed = await fetch(`${service.url}/files`);
      const { items } = await listed.json() as { items: { id: string }[] };
      assert.deepEqual(items.map((f) => f.id), [id]);
    } finally {
      await ceph.admin("user", "rm", `--uid=${uid}`, "--purge-data");
    }
  },
);
