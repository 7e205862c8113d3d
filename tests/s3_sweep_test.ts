/**
 * The crash sweep of the object store with several instances on one
 * bucket (a real Ceph radosgw): an instance starting up (a rolling
 * restart) aborts the multipart uploads of a crashed instance, but not an
 * upload of a live one that has simply run longer than the idle timeout:
 * uploads in progress write a heartbeat the sweep reads.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";

const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

cephTest(
  "s3: an upload running longer than the idle timeout survives another instance's start-up sweep",
  async () => {
    await using ceph = await sharedCeph();
    const args = s3Args(ceph, ["--upload-idle-timeout-ms", "1000"]);
    await using a = await serveApp({ args });
    // 16 MiB at 4 MiB/s: about 4 s in all, never silent for 1 s.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 16) return controller.close();
        if (sent > 0) await sleep(250);
        controller.enqueue(bytesOf(MiB, ++sent));
      },
    });
    const uploading = fetch(`${a.url}/files`, { method: "POST", body });
    // Begun well over the idle timeout ago, still running: B starts.
    await sleep(2000);
    assert.equal((await bucketContents(ceph)).uploads.length, 1);
    await using b = await serveApp({ args });
    assert.ok(!b.records.some((r) => r.msg === "files.swept"));
    const res = await uploading;
    assert.equal(res.status, 201, await res.clone().text());
    const { id, size } = await res.json();
    assert.equal(size, 16 * MiB);
    assert.ok(sent === 16);
    const listed = await (await fetch(`${b.url}/files`)).json();
    assert.deepEqual(listed.items.map((f: { id: string }) => f.id), [id]);
    // The heartbeat is gone with the upload.
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${id}`, `meta/${id}.json`],
      uploads: [],
    });
  },
);
