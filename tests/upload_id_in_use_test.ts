/**
 * What a client refused 409 for its `Upload-Id` is told, and sees. Two
 * holders are told apart: a stored file (`Upload-Id taken`, no
 * `Retry-After`: `GET` reads it) and an upload still running, here or on
 * another instance (`Upload-Id in use`, `Retry-After`: nothing is stored
 * yet, `GET` is 404, and the running upload may still fail). Before, both
 * said "exists; choose another id" with no `Retry-After`, and on S3 a
 * loser whose claim met the winner's before the winner completed was told
 * "Another upload of id ... was stored first" while `GET` said 404, for
 * good when the winner's completion then failed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, sharedCeph } from "./fixtures/ceph.ts";
import { testApp } from "./fixtures/app.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { behindProxy, uploadAs } from "./fixtures/s3_proxied.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { stalledBody } from "./fixtures/upload_client.ts";
import { until } from "./fixtures/until.ts";

const ID = "0123456789abcdef0123456789abcd33";

function post(body: BodyInit, headers: Record<string, string> = {}) {
  return new Request("http://localhost/files", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/octet-stream",
      "upload-id": ID,
      ...headers,
    },
  });
}

Deno.test("409 for an Upload-Id: a running upload's says Retry-After and that nothing is stored yet; a stored file's says GET it", async () => {
  await using t = await testApp([]);
  const chunk = new Uint8Array(64 * 1024).fill(3);
  const body = stalledBody([chunk]);
  const running = t.app.fetch(
    post(body.stream, { "content-length": String(2 * chunk.byteLength) }),
  );
  await until(
    async () => (await (await t.get("/uploads")).json()).items.length === 1,
    "the first upload runs",
  );

  const inUse = await t.app.fetch(post(new Uint8Array(10)));
  assert.equal(inUse.status, 409);
  assert.equal(inUse.headers.get("retry-after"), "1");
  const told = await inUse.json();
  assert.equal(told.title, "Upload-Id in use");
  assert.match(told.detail, /in progress/);
  assert.match(told.detail, new RegExp(`GET /files/${ID} is 404`));
  // As told: nothing stored under the id while the other runs.
  const meanwhile = await t.get(`/files/${ID}`);
  assert.equal(meanwhile.status, 404);
  await meanwhile.body?.cancel();

  // The running upload fails (its body ends short): the id is free.
  body.release();
  assert.equal((await running).status, 400);
  const retried = await t.app.fetch(post(new Uint8Array(10)));
  assert.equal(retried.status, 201);
  await retried.body?.cancel();

  const taken = await t.app.fetch(post(new Uint8Array(10)));
  assert.equal(taken.status, 409);
  assert.equal(taken.headers.get("retry-after"), null);
  const stored = await taken.json();
  assert.equal(stored.title, "Upload-Id taken");
  assert.match(stored.detail, new RegExp(`GET /files/${ID} reads it`));
});

// The request line of CompleteMultipartUpload.
const COMPLETE = /^POST \/[^ ]*\/files\/[^ ?]*\?uploadId=/;
const MiB = 1024 * 1024;

cephTest(
  "s3: a loser whose claim meets the winner's before its completion is told in use (Retry-After), not stored first; once the winner fails, its retry is stored",
  async () => {
    await using ceph = await sharedCeph();
    await using winner = await behindProxy(ceph, { timeoutMs: 2500 });
    await using loser = await serveApp({ args: s3Args(ceph) });
    const id = "0".repeat(30) + "33";
    // The winner claims the id, and its completion never reaches the store.
    winner.proxy.holdRequest(COMPLETE);
    const first = uploadAs(winner.served.url, id, bytesOf(6 * MiB, 1));
    await until(
      async () => (await bucketContents(ceph)).keys.includes(`meta/${id}.json`),
      "the winner's claim",
    );
    const refused = await fetch(`${loser.url}/files`, {
      method: "POST",
      body: bytesOf(6 * MiB, 2),
      headers: { "upload-id": id },
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.headers.get("retry-after"), "1");
    const told = await refused.json();
    assert.equal(told.title, "Upload-Id in use", told.detail);
    assert.doesNotMatch(told.detail, /stored first/);
    const meanwhile = await fetch(`${loser.url}/files/${id}`);
    assert.equal(meanwhile.status, 404);
    await meanwhile.body?.cancel();
    // The winner's completion is never answered: 503, nothing kept.
    assert.equal((await first).status, 503);
    const retry = await uploadAs(loser.url, id, bytesOf(6 * MiB, 2));
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
  },
);
