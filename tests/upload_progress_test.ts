/**
 * Tests of the live progress over `app.fetch`: an `Upload-Id` chosen by
 * the client (kept, validated, refused with 409 while taken), `GET
 * /uploads` listing a running upload with its figures, and the token that
 * both need when `UPLOAD_TOKEN` is set. The board on its own: the rate
 * over the last second and the ending of an upload.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UploadBoard } from "../services/uploads/board.ts";
import type { LiveFigures } from "../services/uploads/upload_figures.ts";
import { testApp } from "./fixtures/app.ts";
import { sha256Hex, stalledBody } from "./fixtures/upload_client.ts";

const ID = "0192a1b2c3d4e5f60718293a4b5c6d7e";
const OTHER = "0192a1b2c3d4e5f60718293a4b5c6d7f";
const TOKEN = "a-long-enough-upload-token";

function post(id: string | undefined, body: BodyInit, extra = {}): Request {
  return new Request("http://localhost/files", {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      ...(id === undefined ? {} : { "upload-id": id }),
      ...extra,
    },
    body,
  });
}

Deno.test("Upload-Id: the client's id is the file's; malformed 400, stored 409", async () => {
  await using t = await testApp([]);
  const bytes = crypto.getRandomValues(new Uint8Array(60_000));
  const created = await t.app.fetch(post(ID, bytes));
  assert.equal(created.status, 201);
  const body = await created.json();
  assert.equal(body.id, ID);
  assert.equal(body.sha256, sha256Hex(bytes));
  assert.equal(created.headers.get("location"), `/files/${ID}`);
  const stored = await t.get(`/files/${ID}`);
  assert.equal(
    sha256Hex(new Uint8Array(await stored.arrayBuffer())),
    body.sha256,
  );

  const again = await t.app.fetch(post(ID, new Uint8Array(10)));
  assert.equal(again.status, 409);
  assert.equal(again.headers.get("content-type"), "application/problem+json");
  assert.match((await again.json()).detail, new RegExp(ID));
  // The stored file is untouched.
  const kept = await t.get(`/files/${ID}`);
  assert.equal(
    sha256Hex(new Uint8Array(await kept.arrayBuffer())),
    body.sha256,
  );

  for (const bad of ["../../etc/passwd", ID.toUpperCase(), ID + "0", "x"]) {
    const res = await t.app.fetch(post(bad, new Uint8Array(10)));
    assert.equal(res.status, 400, bad);
    assert.match((await res.json()).title, /Upload-Id/);
  }
  // Without the header the server picks an id, as before.
  const fresh = await t.app.fetch(post(undefined, new Uint8Array(10)));
  assert.equal(fresh.status, 201);
  assert.notEqual((await fresh.json()).id, ID);
});

Deno.test("GET /uploads lists a running upload with its figures; its id is taken until it ends", async () => {
  await using t = await testApp([]);
  const bad = await t.get("/uploads/events?id=../x");
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  assert.equal(t.app.watchers.count, 0);
  const empty = await t.get("/uploads");
  assert.equal(empty.status, 200);
  assert.equal(empty.headers.get("cache-control"), "no-store");
  assert.deepEqual(await empty.json(), { items: [] });

  const chunk = new Uint8Array(64 * 1024).fill(7);
  const body = stalledBody([chunk, chunk]);
  const declared = 3 * chunk.byteLength;
  const upload = t.app.fetch(
    post(ID, body.stream, { "content-length": String(declared) }),
  );
  let item: Record<string, unknown> | undefined;
  for (
    let i = 0;
    i < 200 && item?.bytesReceived !== 2 * chunk.byteLength;
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    item = (await (await t.get("/uploads")).json()).items[0];
  }
  assert.ok(item, "the upload is listed");
  assert.equal(item.id, ID);
  assert.equal(item.bytesReceived, 2 * chunk.byteLength);
  assert.equal(item.declaredLength, declared);
  assert.equal(item.queueCapacityBytes, t.config.uploadQueueBytes);
  assert.ok((item.bytesPerSecond as number) > 0);
  for (
    const key of [
      "readerWaitMs",
      "readerBlockedMs",
      "writerWriteMs",
      "writerIdleMs",
      "writerHashWaitMs",
    ]
  ) {
    assert.equal(typeof item[key], "number", key);
  }
  // Waiting on the stalled body counts as waiting on the network, live.
  assert.ok((item.readerWaitMs as number) > 0);
  assert.equal(item.bound, "read");
  assert.match(String(item.startedAt), /^\d{4}-\d\d-\d\dT/);

  const second = await t.app.fetch(post(ID, new Uint8Array(10)));
  assert.equal(second.status, 409);
  await second.body?.cancel();

  body.release();
  const res = await upload;
  // The body ended after two of three declared chunks: 400, not kept.
  assert.equal(res.status, 400);
  await res.body?.cancel();
  assert.deepEqual(await (await t.get("/uploads")).json(), { items: [] });
  // Ended (not stored): the id is free again.
  const retried = await t.app.fetch(post(ID, new Uint8Array(10)));
  assert.equal(retried.status, 201);
  await retried.body?.cancel();
});

Deno.test("with UPLOAD_TOKEN, /uploads and /uploads/events need the token", async () => {
  await using t = await testApp(["--upload-token", TOKEN]);
  for (const path of ["/uploads", "/uploads/events"]) {
    const denied = await t.get(path);
    assert.equal(denied.status, 401, path);
    assert.match(denied.headers.get("www-authenticate") ?? "", /^Bearer/);
    await denied.body?.cancel();
    const wrong = await t.get(path, {
      headers: { authorization: "Bearer wrong-token-of-some-length" },
    });
    assert.equal(wrong.status, 401, path);
    await wrong.body?.cancel();
  }
  const listed = await t.get("/uploads", {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(listed.status, 200);
  assert.deepEqual(await listed.json(), { items: [] });
  const events = await t.get("/uploads/events", {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(events.status, 200);
  assert.equal(events.headers.get("content-type"), "text/event-stream");
  await events.body?.cancel();
  assert.equal(t.app.watchers.count, 0);
  // An upload needs it as before; a refused one never reaches the board.
  const upload = await t.app.fetch(post(OTHER, new Uint8Array(10)));
  assert.equal(upload.status, 401);
  await upload.body?.cancel();
  assert.equal(t.app.board.size, 0);
});

Deno.test("UploadBoard: figures read live, rate over the last second, one ending", () => {
  const board = new UploadBoard({ intervalMs: 1000 });
  let figures: LiveFigures = {
    size: 0,
    readerWaitMs: 5,
    readerBlockedMs: 0,
    writerWriteMs: 1,
    writerIdleMs: 4,
    writerHashWaitMs: 0,
    queuedBytes: 0,
    queueCapacityBytes: 1024,
    maxQueuedBytes: 0,
  };
  const live = board.add(ID, { declaredLength: 10, queueCapacityBytes: 1024 });
  assert.throws(() => board.add(ID), TypeError);
  assert.equal(board.has(ID), true);
  // Before the tasks start: zeros and the queue's capacity.
  const [before] = board.list();
  assert.equal(before?.bytesReceived, 0);
  assert.equal(before?.queueCapacityBytes, 1024);
  assert.equal(before?.declaredLength, 10);
  live.observe(() => figures);
  figures = { ...figures, size: 8, readerBlockedMs: 9 };
  const [during] = board.list();
  assert.equal(during?.bytesReceived, 8);
  assert.equal(during?.bound, "write");
  const events: string[] = [];
  const stop = board.listen((event) => events.push(event.type));
  live.end({ kind: "failed", outcome: "aborted", status: 400 });
  live.end({ kind: "failed", outcome: "aborted", status: 400 });
  stop();
  assert.deepEqual(events, ["failed"]);
  assert.equal(board.size, 0);
  assert.throws(() => new UploadBoard({ intervalMs: 0 }), RangeError);
});
