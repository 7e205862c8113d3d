/**
 * End-to-end tests of who may upload, over real loopback HTTP (the test
 * service of `fixtures/files_service.ts`): the MAX_CONCURRENT_UPLOADS cap,
 * also against simultaneous uploads, and UPLOAD_TOKEN on the writing
 * methods.
 *
 * @module
 */

import assert from "node:assert/strict";
import { rawRequest, stalledBody } from "./fixtures/upload_client.ts";
import { listDir as filesIn } from "./fixtures/temp_dir.ts";
import {
  assertProblem,
  bytesOf,
  randomBytes,
  startService,
  TOKEN,
  upload,
} from "./fixtures/files_service.ts";

Deno.test("Past MAX_CONCURRENT_UPLOADS a new upload gets 503 with Retry-After", async () => {
  await using service = await startService([
    "--max-concurrent-uploads",
    "2",
  ], { logLevel: "debug" });
  const stalled = [
    stalledBody([randomBytes(1000)]),
    stalledBody([
      randomBytes(2000),
    ]),
  ];
  const pending = stalled.map((body) =>
    fetch(`${service.url}/files`, { method: "POST", body: body.stream })
  );
  try {
    // Both are running: each wrote its first chunk.
    const writers = new Set<unknown>();
    await service.waitForLog((r) => {
      if (r.msg === "upload.trace" && r.op === "write") writers.add(r.id);
      return writers.size === 2;
    });
    assert.equal(service.app.uploads.active, 2);

    const refused = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf("third"),
    });
    await assertProblem(refused, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
  } finally {
    for (const body of stalled) body.release();
  }
  const done = await Promise.all(pending);
  for (const res of done) {
    assert.equal(res.status, 201);
    await res.body?.cancel();
  }
  // The slots are free again.
  await upload(service.url, bytesOf("fourth"));
});

Deno.test("Simultaneous uploads with Content-Length cannot pass MAX_CONCURRENT_UPLOADS", async () => {
  // Regression: the limit was checked before an await on the free-space
  // lookup and the slot taken after it, so uploads arriving together all
  // passed the check.
  await using service = await startService([
    "--max-concurrent-uploads",
    "2",
  ], { logLevel: "debug" });
  const count = 6;
  const gate = Promise.withResolvers<void>();
  async function* body() {
    yield bytesOf("01234");
    await gate.promise;
    yield bytesOf("56789");
  }
  const pending = Array.from(
    { length: count },
    () =>
      rawRequest(service.addr, {
        headers: { "content-length": "10" },
        body: body(),
      }),
  );
  let results;
  try {
    // Every request is either refused or running (it read its first bytes).
    const running = new Set<unknown>();
    let refused = 0;
    await service.waitForLog((r) => {
      if (r.msg === "upload.trace" && r.op === "read") running.add(r.id);
      if (r.msg === "request" && r.status === 503) refused++;
      return running.size + refused === count;
    });
    assert.equal(running.size, 2);
    assert.equal(service.app.uploads.active, 2);
  } finally {
    gate.resolve();
    results = await Promise.all(pending);
  }
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [201, 201, 503, 503, 503, 503]);
});

Deno.test("UPLOAD_TOKEN guards POST and DELETE but not GET or HEAD", async () => {
  await using service = await startService(["--upload-token", TOKEN]);
  const data = bytesOf("secret-free content");
  const post = (headers: Record<string, string>) =>
    fetch(`${service.url}/files`, { method: "POST", body: data, headers });

  const missing = await post({});
  await assertProblem(missing, 401);
  assert.equal(
    missing.headers.get("www-authenticate"),
    'Bearer realm="async-api"',
  );
  for (
    const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${btoa(`user:${TOKEN}`)}`,
      TOKEN,
    ]
  ) {
    const wrong = await post({ authorization });
    await assertProblem(wrong, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Bearer /);
  }
  assert.deepEqual(await filesIn(service.filesDir), []);

  const { json } = await upload(service.url, data, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const download = await fetch(`${service.url}/files/${json.id}`);
  assert.deepEqual(await download.bytes(), data);
  const head = await fetch(`${service.url}/files/${json.id}`, {
    method: "HEAD",
  });
  assert.equal(head.status, 200);
  await head.body?.cancel();
  const list = await fetch(`${service.url}/files`);
  assert.equal((await list.json()).items.length, 1);

  const del = (headers: Record<string, string>) =>
    fetch(`${service.url}/files/${json.id}`, { method: "DELETE", headers });
  const noToken = await del({});
  await assertProblem(noToken, 401);
  assert.equal(
    noToken.headers.get("www-authenticate"),
    'Bearer realm="async-api"',
  );
  const wrongToken = await del({ authorization: "Bearer not-the-token" });
  await assertProblem(wrongToken, 401);
  assert.match(
    wrongToken.headers.get("www-authenticate") ?? "",
    /error="invalid_token"/,
  );
  assert.equal(
    (await fetch(`${service.url}/files/${json.id}`, {
      method: "HEAD",
    })).status,
    200,
  );
  const deleted = await del({ authorization: `Bearer ${TOKEN}` });
  assert.equal(deleted.status, 204);
  await deleted.body?.cancel();
  assert.deepEqual(await filesIn(service.filesDir), []);
});
