/**
 * The Ceph fixture (`fixtures/ceph.ts`) as the S3 tests use it: a real
 * radosgw taking signed S3 requests (put, get, range, list and delete of an
 * object, a multipart upload), a stopped gateway failing fast and coming
 * back; missing engines skip the tests outside CI and fail them under
 * `CI=true`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { cephUnavailable } from "./fixtures/ceph_installed.ts";

const unavailable = await cephUnavailable();

/** A test that needs Ceph: ignored, saying why, when Ceph is missing. */
function cephTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: unavailable ? `${name} (ignored: ${unavailable})` : name,
    ignore: unavailable !== undefined,
    fn,
  });
}

const encoder = new TextEncoder();
const MiB = 1024 * 1024;
/** Far above any wait under load; reached only by a hang. */
const HANG_BOUND_MS = 30_000;

function objectUrl(ceph: Ceph, key: string, query = ""): string {
  return `${ceph.endpoint}/${ceph.bucket}/${key}${query}`;
}

/** The text of the first `<tag>` in an S3 XML answer. */
function xmlValue(xml: string, tag: string): string | undefined {
  return xml.match(new RegExp(`<${tag}>([^<]*)</${tag}>`))?.[1];
}

function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

cephTest("ceph: put, get, range, list and delete an object", async () => {
  await using ceph = await sharedCeph();
  const body = encoder.encode("0123456789abcdef");
  const url = objectUrl(ceph, "dir/one.txt");

  const put = await ceph.client.fetch(url, {
    method: "PUT",
    body,
    headers: { "content-type": "text/plain", "x-amz-meta-sha256": "abc" },
  });
  await put.body?.cancel();
  assert.deepStrictEqual(put.status, 200);
  assert.deepStrictEqual(put.headers.get("etag"), `"${md5Hex(body)}"`);

  const get = await ceph.client.fetch(url);
  assert.deepStrictEqual(get.status, 200);
  assert.deepStrictEqual(await get.text(), "0123456789abcdef");
  assert.deepStrictEqual(get.headers.get("content-type"), "text/plain");
  assert.deepStrictEqual(get.headers.get("x-amz-meta-sha256"), "abc");

  const range = await ceph.client.fetch(url, {
    headers: { range: "bytes=2-5" },
  });
  assert.deepStrictEqual(range.status, 206);
  assert.deepStrictEqual(await range.text(), "2345");
  assert.deepStrictEqual(range.headers.get("content-range"), "bytes 2-5/16");

  const list = await ceph.client.fetch(
    `${ceph.endpoint}/${ceph.bucket}?list-type=2&prefix=dir/`,
  );
  const xml = await list.text();
  assert.deepStrictEqual(list.status, 200);
  assert.deepStrictEqual(xmlValue(xml, "Key"), "dir/one.txt");
  assert.deepStrictEqual(xmlValue(xml, "Size"), "16");

  const remove = await ceph.client.fetch(url, { method: "DELETE" });
  await remove.body?.cancel();
  assert.deepStrictEqual(remove.status, 204);
  const gone = await ceph.client.fetch(url);
  assert.deepStrictEqual(gone.status, 404);
  assert.deepStrictEqual(xmlValue(await gone.text(), "Code"), "NoSuchKey");
});

cephTest("ceph: a multipart upload of two 5 MiB parts", async () => {
  await using ceph = await sharedCeph();
  const url = objectUrl(ceph, "big.bin");
  const parts = [new Uint8Array(5 * MiB), new Uint8Array(5 * MiB)];
  parts[0]!.fill(1);
  parts[1]!.fill(2);

  const created = await ceph.client.fetch(`${url}?uploads`, {
    method: "POST",
  });
  const uploadId = xmlValue(await created.text(), "UploadId");
  assert.deepStrictEqual(created.status, 200);
  assert.ok(uploadId);

  const etags: string[] = [];
  for (const [index, part] of parts.entries()) {
    // Bytes, not a stream: Deno's fetch sends streams chunked, S3 says 411.
    const res = await ceph.client.fetch(
      `${url}?partNumber=${index + 1}&uploadId=${uploadId}`,
      { method: "PUT", body: part },
    );
    await res.body?.cancel();
    assert.deepStrictEqual(res.status, 200);
    etags.push(res.headers.get("etag") ?? "");
  }
  assert.deepStrictEqual(etags, parts.map((part) => `"${md5Hex(part)}"`));

  // Not visible before CompleteMultipartUpload.
  const early = await ceph.client.fetch(url, { method: "HEAD" });
  await early.body?.cancel();
  assert.deepStrictEqual(early.status, 404);

  const completion = `<CompleteMultipartUpload>${
    etags.map((etag, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`
    ).join("")
  }</CompleteMultipartUpload>`;
  const completed = await ceph.client.fetch(`${url}?uploadId=${uploadId}`, {
    method: "POST",
    body: encoder.encode(completion),
  });
  const completedXml = await completed.text();
  assert.deepStrictEqual(completed.status, 200, completedXml);

  // Ceph answers Complete with an empty ETag (a known bug): ask HeadObject.
  const head = await ceph.client.fetch(url, { method: "HEAD" });
  await head.body?.cancel();
  const md5s = Uint8Array.from(
    etags.flatMap((etag) => etag.slice(1, -1).match(/../g)!)
      .map((hex) => parseInt(hex, 16)),
  );
  assert.deepStrictEqual(head.status, 200);
  assert.deepStrictEqual(head.headers.get("etag"), `"${md5Hex(md5s)}-2"`);
  assert.deepStrictEqual(head.headers.get("content-length"), `${10 * MiB}`);

  const across = await ceph.client.fetch(url, {
    headers: { range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` },
  });
  assert.deepStrictEqual(across.status, 206);
  assert.deepStrictEqual(
    new Uint8Array(await across.arrayBuffer()),
    Uint8Array.of(1, 1, 2, 2),
  );
});

cephTest("ceph: a stopped gateway fails fast and comes back", async () => {
  await using ceph = await sharedCeph();
  const url = objectUrl(ceph, "kept.txt");
  const put = await ceph.client.fetch(url, {
    method: "PUT",
    body: encoder.encode("kept"),
  });
  await put.body?.cancel();
  assert.deepStrictEqual(put.status, 200);

  await ceph.stopGateway();
  // Refused, not hanging: the port is closed, so the connect is refused.
  // The signal is only a hang bound (a refusal takes milliseconds): a
  // gateway left listening would end in its AbortError, not a refusal.
  const failed = await ceph.client.fetch(url, {
    signal: AbortSignal.timeout(HANG_BOUND_MS),
  }).then(() => undefined, (error: unknown) => error);
  assert.ok(failed instanceof TypeError, String(failed));
  assert.match(String(failed.cause), /Connection refused/);

  await ceph.startGateway();
  const get = await ceph.client.fetch(url);
  assert.deepStrictEqual([get.status, await get.text()], [200, "kept"]);
});

cephTest(
  "ceph: callers share one cluster, each with its gateway and bucket",
  async () => {
    await using a = await sharedCeph();
    await using b = await sharedCeph();
    assert.notDeepStrictEqual(a.endpoint, b.endpoint);
    assert.notDeepStrictEqual(a.bucket, b.bucket);

    const put = await a.client.fetch(objectUrl(a, "shared.txt"), {
      method: "PUT",
      body: encoder.encode("one store"),
    });
    await put.body?.cancel();
    // b's gateway serves a's bucket: the same RADOS cluster behind both.
    const get = await b.client.fetch(`${b.endpoint}/${a.bucket}/shared.txt`);
    assert.deepStrictEqual([get.status, await get.text()], [200, "one store"]);

    await a.stopGateway();
    const still = await b.client.fetch(`${b.endpoint}/${b.bucket}?list-type=2`);
    await still.body?.cancel();
    assert.deepStrictEqual(still.status, 200);
  },
);

Deno.test("ceph: missing engines skip outside CI and fail under CI=true", async () => {
  const reason = await cephUnavailable({ path: "/nonexistent", ci: "" });
  assert.ok(reason?.includes("ceph-mon"));
  assert.ok(reason?.includes("apt-get install"));
  assert.deepStrictEqual(
    await cephUnavailable({ path: "/nonexistent", ci: "true" }),
    undefined,
  );
});
