/**
 * The crash sweep of the object store with several instances on one
 * bucket (a real Ceph radosgw): an instance starting up (a rolling
 * restart) aborts the multipart uploads of a crashed instance, but not an
 * upload of a live one that has simply run longer than the idle timeout:
 * uploads in progress write a heartbeat the sweep reads.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import {
  bucketContents,
  sharedCeph,
  uploadsInitiated,
} from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { until } from "./fixtures/until.ts";

const MiB = 1024 * 1024;
// The uploads' idle timeout: what the start-up sweep calls old.
const IDLE_MS = 1000;

/**
 * A request body of 16 MiB sent at 4 MiB/s (1 MiB every 250 ms), and how
 * many MiB of it have gone so far.
 */
function pacedBody(): { body: ReadableStream<Uint8Array>; sent(): number } {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 16) return controller.close();
      if (sent > 0) await sleep(250);
      controller.enqueue(bytesOf(MiB, ++sent));
    },
  });
  return { body, sent: () => sent };
}

cephTest(
  "s3: an upload running longer than the idle timeout survives another instance's start-up sweep",
  async () => {
    await using ceph = await sharedCeph();
    const args = s3Args(ceph, ["--upload-idle-timeout-ms", `${IDLE_MS}`]);
    await using a = await serveApp({ args });
    // About 4 s in all, never silent for 1 s.
    const paced = pacedBody();
    const uploading = fetch(`${a.url}/files`, {
      method: "POST",
      body: paced.body,
    });
    // Begun over the idle timeout ago (by the store's clock, as the sweep
    // judges), still running: B starts.
    await until(async () => {
      const initiated = await uploadsInitiated(ceph);
      return initiated.length === 1 && Date.now() - initiated[0]! > IDLE_MS;
    }, "the upload older than the idle timeout");
    await using b = await serveApp({ args });
    assert.ok(!b.records.some((r) => r.msg === "files.swept"));
    const res = await uploading;
    assert.equal(res.status, 201, await res.clone().text());
    const { id, size } = await res.json();
    assert.equal(size, 16 * MiB);
    assert.equal(paced.sent(), 16);
    const listed = await (await fetch(`${b.url}/files`)).json();
    assert.deepEqual(listed.items.map((f: { id: string }) => f.id), [id]);
    // The heartbeat is gone with the upload.
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${id}`, `meta/${id}.json`],
      uploads: [],
    });
  },
);

cephTest(
  "s3: an upload cut off by the store going down is swept once the store is back, with no restart",
  async () => {
    await using ceph = await sharedCeph();
    const args = s3Args(ceph, [
      "--upload-idle-timeout-ms",
      "1000",
      "--s3-timeout-ms",
      "1000",
    ]);
    await using app = await serveApp({ args });
    // The multipart upload and its first parts exist when the gateway
    // stops.
    const paced = pacedBody();
    const uploading = fetch(`${app.url}/files`, {
      method: "POST",
      body: paced.body,
    });
    await until(() => paced.sent() >= 7, "a part sent");
    assert.equal((await bucketContents(ceph)).uploads.length, 1);
    await ceph.stopGateway();
    const res = await uploading;
    await res.body?.cancel();
    assert.equal(res.status, 503);
    // Its abort could not reach the store: the multipart upload (its parts
    // stored) and its heartbeat are left. Only a start-up swept them.
    await ceph.startGateway();
    await until(async () => {
      const { keys, uploads } = await bucketContents(ceph);
      return keys.length === 0 && uploads.length === 0;
    }, "the orphan multipart upload and its heartbeat swept");
    assert.ok(app.records.some((r) => r.msg === "files.swept"));
    const next = await fetch(`${app.url}/files`, {
      method: "POST",
      body: bytesOf(MiB),
    });
    assert.equal(next.status, 201, await next.clone().text());
    const { id } = await next.json();
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${id}`, `meta/${id}.json`],
      uploads: [],
    });
  },
);

cephTest(
  "s3: a file stored under an Upload-Id whose earlier upload crashed survives the sweep of the crashed one",
  async () => {
    await using ceph = await sharedCeph();
    const args = s3Args(ceph, ["--upload-idle-timeout-ms", `${IDLE_MS}`]);
    const id = "0123456789abcdef0123456789abcdef";
    // What an instance killed mid-upload leaves: a multipart upload of
    // files/<id> with no heartbeat.
    const crashed = await ceph.client.fetch(
      `${ceph.endpoint}/${ceph.bucket}/files/${id}?uploads`,
      { method: "POST" },
    );
    assert.equal(crashed.status, 200, await crashed.text());
    // The client retries under its Upload-Id: stored.
    await using a = await serveApp({ args });
    const res = await fetch(`${a.url}/files`, {
      method: "POST",
      headers: { "upload-id": id },
      body: bytesOf(MiB),
    });
    assert.equal(res.status, 201, await res.clone().text());
    await res.body?.cancel();
    // An instance starting sweeps the crashed upload, once older than 1 s.
    await until(async () => {
      const [initiated] = await uploadsInitiated(ceph);
      return Date.now() - initiated! > IDLE_MS;
    }, "the crashed upload older than the idle timeout");
    await using b = await serveApp({ args });
    assert.ok(b.records.some((r) => r.msg === "files.swept"));
    // Before: the sweep deleted meta/<id>.json, the stored file's: 404,
    // unlisted, its content left in the bucket.
    const got = await fetch(`${b.url}/files/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(await got.bytes(), bytesOf(MiB));
    const listed = await (await fetch(`${b.url}/files`)).json();
    assert.deepEqual(listed.items.map((f: { id: string }) => f.id), [id]);
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${id}`, `meta/${id}.json`],
      uploads: [],
    });
  },
);
