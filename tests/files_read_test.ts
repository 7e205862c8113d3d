/**
 * End-to-end tests of reading and removing stored files over real loopback
 * HTTP (the test service of `fixtures/files_service.ts`): the paged list,
 * GET with ranges and conditions, HEAD, invalid or unnormalised ids (by a
 * raw TCP client where `fetch` would normalise them), and DELETE.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { rawRequest } from "./fixtures/upload_client.ts";
import { listDir as filesIn } from "./fixtures/temp_dir.ts";
import {
  assertProblem,
  bytesOf,
  type Created,
  randomBytes,
  startService,
  upload,
} from "./fixtures/files_service.ts";

Deno.test("GET /files lists committed files in pages; a bad limit or cursor gets 400", async () => {
  await using service = await startService();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await upload(service.url, bytesOf(`file ${i}`))).json.id);
  }
  // A .part of an upload in flight is not listed.
  await Deno.writeFile(
    join(service.filesDir, `${"0".repeat(32)}.part`),
    new Uint8Array([1]),
  );

  const all = await fetch(`${service.url}/files`);
  assert.equal(all.status, 200);
  assert.equal(all.headers.get("link"), null);
  const everything = await all.json();
  assert.equal(everything.nextCursor, undefined);
  const order = everything.items.map((item: Created) => item.id);
  assert.deepEqual([...order].sort(), [...ids].sort());
  for (const item of everything.items) {
    assert.deepEqual(Object.keys(item).sort(), [
      "created",
      "id",
      "sha256",
      "size",
    ]);
  }

  const paged: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const query = new URLSearchParams({ limit: "2" });
    if (cursor !== undefined) query.set("cursor", cursor);
    const res = await fetch(`${service.url}/files?${query}`);
    assert.equal(res.status, 200);
    const page = await res.json();
    pages++;
    assert.ok(page.items.length <= 2);
    paged.push(...page.items.map((item: Created) => item.id));
    cursor = page.nextCursor;
    if (cursor === undefined) {
      assert.equal(res.headers.get("link"), null);
    } else {
      assert.equal(
        res.headers.get("link"),
        `</files?limit=2&cursor=${encodeURIComponent(cursor)}>; rel="next"`,
      );
    }
  } while (cursor !== undefined && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(paged, order);

  for (const query of ["limit=0", "limit=1001", "limit=abc", "limit=1.5"]) {
    const res = await fetch(`${service.url}/files?${query}`);
    await assertProblem(res, 400);
  }
  await assertProblem(await fetch(`${service.url}/files?cursor=nope`), 400);
});

Deno.test("GET /files/:id serves single byte ranges, 416 and 304", async () => {
  await using service = await startService();
  const data = randomBytes(100);
  const { json } = await upload(service.url, data);
  const url = `${service.url}/files/${json.id}`;
  const etag = `"${json.sha256}"`;

  const cases: [string, number, number][] = [
    ["bytes=0-9", 0, 9],
    ["bytes=-5", 95, 99],
    ["bytes=10-", 10, 99],
    ["bytes=90-1000", 90, 99],
    ["bytes=-1000", 0, 99],
  ];
  for (const [range, start, end] of cases) {
    const res = await fetch(url, { headers: { range } });
    assert.equal(res.status, 206, range);
    assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/100`);
    assert.equal(res.headers.get("content-length"), String(end - start + 1));
    assert.deepEqual(await res.bytes(), data.subarray(start, end + 1), range);
  }

  for (
    const range of ["bytes=100-", "bytes=100-200", "bytes=9-5", "bytes=-0"]
  ) {
    const res = await fetch(url, { headers: { range } });
    await assertProblem(res, 416);
    assert.equal(res.headers.get("content-range"), "bytes */100", range);
  }

  // Several ranges or another unit: the whole file.
  for (const range of ["bytes=0-1,5-6", "items=0-1"]) {
    const res = await fetch(url, { headers: { range } });
    assert.equal(res.status, 200, range);
    assert.deepEqual(await res.bytes(), data);
  }

  // If-Range with the current ETag honours the range; a stale one does not.
  const current = await fetch(url, {
    headers: { range: "bytes=0-9", "if-range": etag },
  });
  assert.equal(current.status, 206);
  await current.body?.cancel();
  const stale = await fetch(url, {
    headers: { range: "bytes=0-9", "if-range": `"${"0".repeat(64)}"` },
  });
  assert.equal(stale.status, 200);
  assert.deepEqual(await stale.bytes(), data);

  const notModified = await fetch(url, { headers: { "if-none-match": etag } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.get("etag"), etag);
  assert.equal((await notModified.bytes()).byteLength, 0);
  const changed = await fetch(url, {
    headers: { "if-none-match": `"${"0".repeat(64)}"` },
  });
  assert.equal(changed.status, 200);
  assert.deepEqual(await changed.bytes(), data);
});

Deno.test("HEAD /files/:id gives the length and headers but no body", async () => {
  await using service = await startService();
  const data = randomBytes(12_345);
  const { json } = await upload(service.url, data);
  const url = `${service.url}/files/${json.id}`;

  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "12345");
  assert.equal(head.headers.get("etag"), `"${json.sha256}"`);
  assert.equal(head.headers.get("accept-ranges"), "bytes");
  assert.equal((await head.bytes()).byteLength, 0);

  const ranged = await fetch(url, {
    method: "HEAD",
    headers: { range: "bytes=0-9" },
  });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get("content-length"), "10");
  assert.equal(ranged.headers.get("content-range"), "bytes 0-9/12345");
  assert.equal((await ranged.bytes()).byteLength, 0);

  const missing = await fetch(`${service.url}/files/${"0".repeat(32)}`, {
    method: "HEAD",
  });
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("Invalid file ids get 404 and never reach outside DATA_DIR/files", async () => {
  await using service = await startService();
  const data = bytesOf("the only file");
  const { json } = await upload(service.url, data);
  const before = await filesIn(service.filesDir);

  const ids = [
    encodeURIComponent("../etc/passwd"),
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2F" + json.id,
    json.id.toUpperCase(),
    json.id.slice(1),
    `${json.id}0`,
    `${json.id}.json`,
    `${json.id}.part`,
    `${json.id}%00`,
  ];
  for (const id of ids) {
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const res = await fetch(`${service.url}/files/${id}`, { method });
      assert.equal(res.status, 404, `${method} ${id}`);
      await res.body?.cancel();
    }
  }
  // Paths the server normalises before routing: still nothing served.
  for (
    const path of [
      "/files/../etc/passwd",
      "/files/%2e%2e/%2e%2e/etc/passwd",
      "/files/./../../etc/passwd",
    ]
  ) {
    const raw = await rawRequest(service.addr, {
      method: "GET",
      path,
      headers: { connection: "close" },
    });
    assert.equal(raw.status, 404, path);
  }
  // A bare `%2e%2e` segment is a dot-segment to URL parsers, client and
  // server alike: `/files/%2e%2e` is `/`, the greeting, not a file.
  const dotDot = await rawRequest(service.addr, {
    method: "GET",
    path: "/files/%2e%2e",
    headers: { connection: "close" },
  });
  assert.equal(dotDot.status, 200);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(dotDot.body)), {
    Hello: "World",
  });
  assert.deepEqual(await filesIn(service.filesDir), before);
  const download = await fetch(`${service.url}/files/${json.id}`);
  assert.deepEqual(await download.bytes(), data);
});

Deno.test("DELETE /files/:id removes the file; then GET, HEAD and DELETE get 404", async () => {
  await using service = await startService();
  const { json } = await upload(service.url, bytesOf("short-lived"));
  const url = `${service.url}/files/${json.id}`;

  const deleted = await fetch(url, { method: "DELETE" });
  assert.equal(deleted.status, 204);
  await deleted.body?.cancel();
  assert.deepEqual(await filesIn(service.filesDir), []);

  await assertProblem(await fetch(url), 404);
  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.status, 404);
  await head.body?.cancel();
  await assertProblem(await fetch(url, { method: "DELETE" }), 404);
  const list = await (await fetch(`${service.url}/files`)).json();
  assert.deepEqual(list.items, []);
});
