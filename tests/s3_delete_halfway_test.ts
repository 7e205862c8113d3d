/**
 * A delete on an S3 store (a real Ceph radosgw) that removed a file's
 * content but not its metadata object: the request for the metadata held
 * by a loopback pass-through until `S3_TIMEOUT_MS`, as a store that stops
 * answering (or an instance that dies) between the two. The file is gone
 * (404, unlisted), and the metadata object left behind is nobody's: an
 * upload of the id writes its claim only if absent (`If-None-Match: *`),
 * so every later upload under that `Upload-Id` was 409 "another upload was
 * stored first", for good. Now the claim takes over such a leftover: no
 * content and no other multipart upload of the id in progress. Two uploads
 * of the id at once each see the other's: never both stored. The leftover
 * stayed in the bucket for good unless the id was uploaded again: the
 * delete's retry removes it now, and so does an instance starting later.
 *
 * @module
 */

import assert from "node:assert/strict";
import { metadataKey } from "../services/storage/s3_keys.ts";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import {
  assertStoredAlone,
  deleteHalfway,
  META_DELETE,
  uploadAs,
} from "./fixtures/s3_proxied.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { until } from "./fixtures/until.ts";

const MiB = 1024 * 1024;
// Long enough for a 5 MiB part on a loaded machine.
const TIMEOUT_MS = 2500;
// The later instance's uploads' idle timeout: what its sweep calls old.
const IDLE_MS = 1000;

/** When radosgw dates object `key` (to the second), ms since the epoch. */
async function lastModified(ceph: Ceph, key: string): Promise<number> {
  const query = `list-type=2&prefix=${encodeURIComponent(key)}`;
  const res = await ceph.client.fetch(
    `${ceph.endpoint}/${ceph.bucket}?${query}`,
    { method: "GET", ...(ceph.http ? { client: ceph.http } : {}) },
  );
  const text = await res.text();
  assert.ok(res.ok, text);
  const at = /<LastModified>([^<]*)<\/LastModified>/.exec(text)?.[1];
  assert.ok(at !== undefined, `${key} not listed: ${text}`);
  return Date.parse(at);
}

cephTest(
  "s3: a delete that removed the content, not the metadata (503): the id is 404, and an upload under it is stored, not 409 for good",
  async () => {
    await using ceph = await sharedCeph();
    await using proxy = startTcpProxy({
      port: Number(new URL(ceph.endpoint).port),
    });
    await using served = await serveApp({
      args: s3Args(ceph, ["--s3-timeout-ms", String(TIMEOUT_MS)], proxy.url),
    });
    const id = "0".repeat(31) + "e";
    await deleteHalfway(
      ceph,
      served.url,
      id,
      () => proxy.holdRequest(META_DELETE),
    );
    const listed = await (await fetch(`${served.url}/files`)).json();
    assert.deepEqual(listed.items, []);
    const body = bytesOf(6 * MiB, 6);
    const again = await uploadAs(served.url, id, body);
    assert.equal(again.status, 201, JSON.stringify(again.body));
    await assertStoredAlone(ceph, served.url, id, sha256Hex(body));
  },
);

cephTest(
  "s3: two uploads at once of an id whose delete stopped halfway, on two instances: never both stored; the file is the 201's",
  async () => {
    await using ceph = await sharedCeph();
    await using proxy = startTcpProxy({
      port: Number(new URL(ceph.endpoint).port),
    });
    const args = ["--s3-timeout-ms", String(TIMEOUT_MS)];
    await using a = await serveApp({ args: s3Args(ceph, args, proxy.url) });
    await using b = await serveApp({ args: s3Args(ceph, args) });
    const id = "0".repeat(31) + "f";
    await deleteHalfway(
      ceph,
      a.url,
      id,
      () => proxy.holdRequest(META_DELETE),
    );
    const bodies = [bytesOf(6 * MiB, 7), bytesOf(6 * MiB, 8)];
    const answers = await Promise.all(
      [a, b].map((served, i) => uploadAs(served.url, id, bodies[i]!)),
    );
    const stored = answers.flatMap((x, i) => x.status === 201 ? [i] : []);
    assert.ok(stored.length <= 1, JSON.stringify(answers));
    for (const x of answers) {
      if (x.status !== 201) assert.equal(x.status, 409, JSON.stringify(x));
    }
    // Both refused (each saw the other's upload): a retry is stored.
    const won = stored[0] ??
      ((await uploadAs(a.url, id, bodies[0]!)).status === 201 ? 0 : -1);
    assert.ok(won >= 0, "a retry after two refusals is stored");
    await assertStoredAlone(ceph, b.url, id, sha256Hex(bodies[won]!));
  },
);

cephTest(
  "s3: the metadata object a delete left behind goes with the delete's retry (404), or with the sweep of an instance starting later",
  async () => {
    await using ceph = await sharedCeph();
    await using proxy = startTcpProxy({
      port: Number(new URL(ceph.endpoint).port),
    });
    const args = ["--s3-timeout-ms", String(TIMEOUT_MS)];
    await using served = await serveApp({
      args: s3Args(ceph, args, proxy.url),
    });
    const retried = "0".repeat(31) + "a";
    await deleteHalfway(
      ceph,
      served.url,
      retried,
      () => proxy.holdRequest(META_DELETE),
    );
    // The client retries the DELETE: the file is gone, and so is the rest.
    const retry = await fetch(`${served.url}/files/${retried}`, {
      method: "DELETE",
    });
    assert.equal(retry.status, 404, await retry.text());
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
    // Not retried: an instance starting once it is older than the uploads'
    // idle timeout sweeps it (radosgw dates objects to the second).
    const left = "0".repeat(31) + "b";
    await deleteHalfway(
      ceph,
      served.url,
      left,
      () => proxy.holdRequest(META_DELETE),
    );
    const at = await lastModified(ceph, metadataKey(left));
    await until(() => Date.now() - at > IDLE_MS, "the leftover aged");
    await using _later = await serveApp({
      args: s3Args(ceph, [...args, "--upload-idle-timeout-ms", `${IDLE_MS}`]),
    });
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
  },
);
