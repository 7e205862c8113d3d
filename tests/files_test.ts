/**
 * End-to-end tests of storing uploads over real loopback HTTP: the app
 * from `createApp` served by `Deno.serve` on port 0 with a temporary
 * DATA_DIR (`fixtures/files_service.ts`), driven by `fetch` and, where
 * `fetch` cannot say it (an exact Content-Length with a streamed body, a
 * body shorter than declared, headers without a body), by a raw TCP
 * client: what is stored, the size limits, digests and stalls.
 *
 * The other file routes are in `files_limits_test.ts` (concurrency and
 * UPLOAD_TOKEN), `files_read_test.ts` (list, GET, HEAD, DELETE) and
 * `files_housekeeping_test.ts` (the start's sweep, the debug trace). The
 * pipeline itself (queue bounds, slow disks, read/write-bound) is covered
 * without HTTP in `upload_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import {
  chunkedEncoding,
  hashFile,
  hashStream,
  randomBody,
  rawRequest,
  sha256Hex,
  stalledBody,
} from "./fixtures/upload_client.ts";
import { listDir as filesIn } from "./fixtures/temp_dir.ts";
import {
  assertProblem,
  base64Of,
  bytesOf,
  type Created,
  EMPTY_SHA256,
  ID,
  KiB,
  MiB,
  randomBytes,
  startService,
  upload,
  within,
} from "./fixtures/files_service.ts";

Deno.test("POST /files stores an empty body: 201, size 0, SHA-256 of nothing", async () => {
  await using service = await startService();
  for (const body of [null, new Uint8Array(0)]) {
    const { res, json } = await upload(service.url, body);
    assert.match(json.id, ID);
    assert.equal(json.size, 0);
    assert.equal(json.sha256, EMPTY_SHA256);
    assert.equal(
      res.headers.get("repr-digest"),
      `sha-256=:${base64Of(EMPTY_SHA256)}:`,
    );
    assert.deepEqual(await hashFile(join(service.filesDir, json.id)), {
      sha256: EMPTY_SHA256,
      size: 0,
    });
    const download = await fetch(`${service.url}/files/${json.id}`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-length"), "0");
    assert.equal((await download.bytes()).byteLength, 0);
  }
});

Deno.test("POST /files stores a small body and answers Location, Repr-Digest and ETag", async () => {
  await using service = await startService();
  const data = bytesOf("hello, upload\n");
  const sha256 = sha256Hex(data);
  const { res, json } = await upload(service.url, data);

  assert.match(json.id, ID);
  assert.equal(json.size, data.byteLength);
  assert.equal(json.sha256, sha256);
  assert.ok(!Number.isNaN(Date.parse(json.created)));
  assert.ok(json.bound === "read" || json.bound === "write");
  assert.equal(json.sha256Base64, undefined);
  assert.equal(res.headers.get("location"), `/files/${json.id}`);
  assert.equal(res.headers.get("repr-digest"), `sha-256=:${base64Of(sha256)}:`);
  assert.equal(res.headers.get("etag"), `"${sha256}"`);
  assert.equal(
    res.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  assert.match(res.headers.get("server-timing") ?? "", /\bwrite;dur=/);

  // Content and sidecar on disk, nothing else.
  assert.deepEqual(await filesIn(service.filesDir), [
    json.id,
    `${json.id}.json`,
  ]);
  assert.deepEqual(await Deno.readFile(join(service.filesDir, json.id)), data);
  assert.deepEqual(
    JSON.parse(
      await Deno.readTextFile(join(service.filesDir, `${json.id}.json`)),
    ),
    { id: json.id, size: json.size, sha256, created: json.created },
  );

  const download = await fetch(
    new URL(res.headers.get("location")!, service.url),
  );
  assert.equal(download.status, 200);
  assert.equal(
    download.headers.get("content-type"),
    "application/octet-stream",
  );
  assert.equal(download.headers.get("content-length"), String(data.byteLength));
  assert.equal(download.headers.get("accept-ranges"), "bytes");
  assert.equal(download.headers.get("etag"), `"${sha256}"`);
  assert.equal(
    download.headers.get("repr-digest"),
    res.headers.get("repr-digest"),
  );
  assert.deepEqual(await download.bytes(), data);
});

Deno.test("POST /files streams 64 MiB of random bytes to disk intact", async () => {
  await using service = await startService();
  const size = 64 * MiB;
  const body = randomBody(size, 64 * KiB);
  const { res, json } = await upload(service.url, body.stream);
  const sent = body.digest();

  assert.equal(body.sent(), size);
  assert.equal(json.size, size);
  assert.equal(json.sha256, sent);
  assert.equal(res.headers.get("repr-digest"), `sha-256=:${base64Of(sent)}:`);
  assert.equal(res.headers.get("location"), `/files/${json.id}`);
  assert.deepEqual(await hashFile(join(service.filesDir, json.id)), {
    sha256: sent,
    size,
  });
  const download = await fetch(`${service.url}/files/${json.id}`);
  assert.equal(download.status, 200);
  assert.equal(download.headers.get("content-length"), String(size));
  assert.deepEqual(await hashStream(download.body!), { sha256: sent, size });
});

Deno.test("POST /files takes a chunked body without Content-Length", async () => {
  await using service = await startService();
  // Odd sizes, across and below the server's 64 KiB read size.
  const pieces = [1, 1000, 70_000, 3, 65_536, 17].map(randomBytes);
  const all = new Uint8Array(Buffer.concat(pieces));
  const sha256 = sha256Hex(all);

  // fetch sends a ReadableStream body with Transfer-Encoding: chunked.
  const { json } = await upload(service.url, ReadableStream.from(pieces));
  assert.equal(json.size, all.byteLength);
  assert.equal(json.sha256, sha256);
  assert.deepEqual(await Deno.readFile(join(service.filesDir, json.id)), all);

  // The same, framed by hand so there is no doubt about the framing.
  const raw = await rawRequest(service.addr, {
    headers: { "transfer-encoding": "chunked" },
    body: chunkedEncoding(pieces),
  });
  assert.equal(raw.status, 201, new TextDecoder().decode(raw.body));
  const rawJson = JSON.parse(new TextDecoder().decode(raw.body)) as Created;
  assert.equal(rawJson.size, all.byteLength);
  assert.equal(rawJson.sha256, sha256);
});

Deno.test("POST /files takes a body streamed under an exact Content-Length", async () => {
  await using service = await startService();
  const pieces = [randomBytes(10_000), randomBytes(100_000), randomBytes(7)];
  const all = new Uint8Array(Buffer.concat(pieces));
  const raw = await rawRequest(service.addr, {
    headers: { "content-length": String(all.byteLength) },
    body: pieces,
  });
  const text = new TextDecoder().decode(raw.body);
  assert.equal(raw.status, 201, text);
  const json = JSON.parse(text) as Created;
  assert.equal(json.size, all.byteLength);
  assert.equal(json.sha256, sha256Hex(all));
  assert.deepEqual(await Deno.readFile(join(service.filesDir, json.id)), all);
});

Deno.test("PUT /files and POST /file are aliases of POST /files", async () => {
  await using service = await startService();
  for (
    const [method, path] of [["PUT", "/files"], ["POST", "/file"]] as const
  ) {
    const data = bytesOf(`${method} ${path}`);
    const res = await fetch(`${service.url}${path}`, { method, body: data });
    const json = JSON.parse(await res.text()) as Created;
    assert.equal(res.status, 201);
    assert.equal(json.sha256, sha256Hex(data));
    assert.equal(res.headers.get("location"), `/files/${json.id}`);
    const download = await fetch(`${service.url}/files/${json.id}`);
    assert.deepEqual(await download.bytes(), data);
  }
  const listed = await (await fetch(`${service.url}/files`)).json();
  assert.equal(listed.items.length, 2);
});

Deno.test("A client abort mid-stream keeps neither a file nor a .part", async () => {
  await using service = await startService([], { logLevel: "debug" });
  const controller = new AbortController();
  const body = stalledBody([randomBytes(64 * KiB), randomBytes(64 * KiB)]);
  const pending = fetch(`${service.url}/files`, {
    method: "POST",
    body: body.stream,
    signal: controller.signal,
  });
  // Some bytes reached the .part file: the upload is under way.
  await service.waitForLog((r) =>
    r.msg === "upload.trace" && r.task === "writer" && r.op === "write"
  );
  assert.equal(service.app.uploads.active, 1);
  assert.equal((await filesIn(service.filesDir)).length, 1);

  controller.abort();
  await assert.rejects(pending, (error: Error) => error.name === "AbortError");
  body.release();
  await within(service.app.uploads.idle(), "the aborted upload to end");

  assert.deepEqual(await filesIn(service.filesDir), []);
  await service.waitForLog((r) => r.msg === "upload.aborted");
});

Deno.test("A Content-Length over MAX_UPLOAD_BYTES gets 413 before any body byte is sent", async () => {
  await using service = await startService(["--max-upload-bytes", `${MiB}`]);
  // Headers only: the answer must come without the server reading a body.
  const raw = await rawRequest(service.addr, {
    headers: {
      "content-length": String(2 ** 40),
      "content-type": "application/octet-stream",
    },
  });
  assert.equal(raw.status, 413);
  assert.match(raw.headers.get("connection") ?? "", /\bclose\b/);
  const body = JSON.parse(new TextDecoder().decode(raw.body));
  assert.equal(body.maxBytes, MiB);
  assert.deepEqual(await filesIn(service.filesDir), []);
});

Deno.test("A chunked body crossing MAX_UPLOAD_BYTES gets 413 and keeps nothing", async () => {
  await using service = await startService(["--max-upload-bytes", `${MiB}`]);
  // The limit itself is fine...
  const { json } = await upload(service.url, randomBody(MiB).stream);
  assert.equal(json.size, MiB);
  // ...one byte more is not.
  const res = await fetch(`${service.url}/files`, {
    method: "POST",
    body: randomBody(MiB + 1).stream,
  });
  const problem = await assertProblem(res, 413);
  assert.equal(problem.maxBytes, MiB);
  assert.deepEqual(await filesIn(service.filesDir), [
    json.id,
    `${json.id}.json`,
  ]);
});

Deno.test("A body shorter than its Content-Length keeps nothing and the server still answers", async () => {
  await using service = await startService();
  const raw = await rawRequest(service.addr, {
    headers: { "content-length": "1000" },
    body: [bytesOf("0123456789")],
    closeWrite: true,
  });
  assert.equal(raw.status, 400, new TextDecoder().decode(raw.body));
  await within(service.app.uploads.idle(), "the short upload to end");
  assert.deepEqual(await filesIn(service.filesDir), []);

  const health = await fetch(`${service.url}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const { json } = await upload(service.url, bytesOf("next"));
  assert.equal(json.size, 4);
});

Deno.test("Content-Digest sha-256: a match is stored, a mismatch or malformed one gets 400", async () => {
  await using service = await startService();
  const data = bytesOf("integrity matters");
  const digest = `sha-256=:${base64Of(sha256Hex(data))}:`;

  const { json } = await upload(service.url, data, {
    headers: { "content-digest": digest },
  });
  assert.equal(json.sha256, sha256Hex(data));
  // Repr-Digest works too, and other algorithms are ignored.
  await upload(service.url, data, { headers: { "repr-digest": digest } });
  await upload(service.url, data, {
    headers: { "content-digest": `sha-512=:${"A".repeat(86)}==:` },
  });
  const kept = await filesIn(service.filesDir);
  assert.equal(kept.length, 6);

  const mismatch = await fetch(`${service.url}/files`, {
    method: "POST",
    body: bytesOf("integrity mattres"),
    headers: { "content-digest": digest },
  });
  assert.equal((await assertProblem(mismatch, 400)).title, "Digest mismatch");

  for (
    const bad of [
      "sha-256=abc",
      "sha-256=:AAAA:",
      `sha-256=:${base64Of(sha256Hex(data))}`,
      "sha-256",
    ]
  ) {
    const res = await fetch(`${service.url}/files`, {
      method: "POST",
      body: data,
      headers: { "content-digest": bad },
    });
    assert.equal(
      (await assertProblem(res, 400)).title,
      "Malformed digest",
      bad,
    );
  }
  assert.deepEqual(await filesIn(service.filesDir), kept);
});

Deno.test("An upload that stalls past UPLOAD_IDLE_TIMEOUT_MS gets 408 and keeps nothing", async () => {
  await using service = await startService([
    "--upload-idle-timeout-ms",
    "300",
  ]);
  const body = stalledBody([randomBytes(1000)]);
  try {
    const res = await fetch(`${service.url}/files`, {
      method: "POST",
      body: body.stream,
    });
    const problem = await assertProblem(res, 408);
    assert.match(String(problem.detail), /300 ms/);
    assert.equal(res.headers.get("connection"), "close");
  } finally {
    body.release();
  }
  assert.deepEqual(await filesIn(service.filesDir), []);
});
