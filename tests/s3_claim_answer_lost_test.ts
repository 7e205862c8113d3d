/**
 * The answer to an upload's claim on its id lost, against a real Ceph
 * radosgw (a loopback pass-through in front of it loses the answer to the
 * metadata object's `PUT` after radosgw stored it). The claim is written
 * only if absent (`If-None-Match: *`), so sent again (the store client
 * sends a PUT again over fetch when its connection breaks) it meets its own
 * object: that was a 409 "another upload was stored first" with nothing
 * stored, and, the metadata object left behind, every retry under the same
 * `Upload-Id` was 409 too, for good (no sweep takes the metadata of an
 * upload that was aborted). A claim whose answer never came left the same.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";

const MiB = 1024 * 1024;
// Long enough for a 5 MiB part on a loaded machine.
const TIMEOUT_MS = 2500;
// The request line of the PUT of a metadata object.
const CLAIM = /^PUT \/[^ ]*\/meta\//;

/** The app on `ceph`'s bucket through a pass-through that loses answers. */
async function behindProxy(ceph: Ceph) {
  const proxy = startTcpProxy({ port: Number(new URL(ceph.endpoint).port) });
  try {
    const args = ["--s3-timeout-ms", String(TIMEOUT_MS)];
    const served = await serveApp({ args: s3Args(ceph, args, proxy.url) });
    return {
      proxy,
      served,
      async [Symbol.asyncDispose]() {
        await served[Symbol.asyncDispose]();
        await proxy[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await proxy[Symbol.asyncDispose]();
    throw error;
  }
}

/** Uploads `body` under `id`; resolves the status and the answer. */
async function upload(url: string, id: string, body: Uint8Array) {
  const res = await fetch(`${url}/files`, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { "upload-id": id },
  });
  return { status: res.status, body: await res.json() };
}

/** File `id` is stored whole as `body`, alone in the bucket. */
async function assertStored(
  ceph: Ceph,
  url: string,
  id: string,
  body: Uint8Array,
): Promise<void> {
  const got = await fetch(`${url}/files/${id}`);
  assert.equal(got.status, 200);
  assert.equal(
    sha256Hex(new Uint8Array(await got.arrayBuffer())),
    sha256Hex(body),
  );
  assert.deepEqual(await bucketContents(ceph), {
    keys: [`files/${id}`, `meta/${id}.json`],
    uploads: [],
  });
}

cephTest(
  "s3: the answer to the claim on the id lost after the store took it: stored (201) or 503 then stored on a retry, never 409",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph);
    const { proxy, served } = app;
    const id = "0".repeat(31) + "c";
    const body = bytesOf(6 * MiB, 3);
    proxy.dropAnswerTo(CLAIM);
    const first = await upload(served.url, id, body);
    assert.notEqual(first.status, 409, JSON.stringify(first.body));
    if (first.status !== 201) {
      assert.equal(first.status, 503, JSON.stringify(first.body));
      const retry = await upload(served.url, id, body);
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
    } else {
      assert.equal(first.body.sha256, sha256Hex(body));
    }
    await assertStored(ceph, served.url, id, body);
  },
);

cephTest(
  "s3: the answer to the claim on the id never came: 503 within twice S3_TIMEOUT_MS, nothing kept, a retry under the Upload-Id is stored",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph);
    const { proxy, served } = app;
    const id = "0".repeat(31) + "d";
    const body = bytesOf(6 * MiB, 4);
    proxy.holdAnswerTo(CLAIM);
    const started = performance.now();
    const first = await upload(served.url, id, body);
    assert.equal(first.status, 503, JSON.stringify(first.body));
    assert.ok(performance.now() - started < 2 * TIMEOUT_MS + 2500);
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
    const retry = await upload(served.url, id, body);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    await assertStored(ceph, served.url, id, body);
  },
);
