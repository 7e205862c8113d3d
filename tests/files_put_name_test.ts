/**
 * `PUT /files/<name>`, what `curl -T big.bin http://host/files/` sends
 * (curl appends the local file's name to a URL ending in `/`): it was 405
 * (the download's path takes GET, HEAD and DELETE only). The name becomes
 * the file's, cleaned as a form part's filename is; the file gets a new id
 * (`Location`), and `/files/<name>` stays no file. A segment that is an id
 * creates the file under it, and never replaces a stored one (409). The
 * token, the limits (413, 507) and the id checks hold as on `POST /files`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  assertProblem,
  bytesOf,
  ID,
  MiB,
  randomBytes,
  startService,
  TOKEN,
} from "./fixtures/files_service.ts";
import { rawRequest } from "./fixtures/upload_client.ts";
import { sha256Hex } from "./fixtures/s3_app.ts";

/** What a 201 of a PUT answers, with its `Location`. */
interface Stored {
  location: string;
  id: string;
  filename?: string;
  sha256: string;
  size: number;
}

/** `PUT <url>/files/<segment>` with `body`; asserts 201. */
async function put(
  url: string,
  segment: string,
  body: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
): Promise<Stored> {
  const res = await fetch(`${url}/files/${segment}`, {
    method: "PUT",
    body,
    headers,
  });
  const text = await res.text();
  assert.equal(res.status, 201, `${segment}: ${text}`);
  const location = res.headers.get("location") ?? "";
  return { location, ...JSON.parse(text) };
}

/** The file ids `GET /files` lists. */
async function listed(url: string): Promise<string[]> {
  const res = await fetch(`${url}/files`);
  assert.equal(res.status, 200);
  return (await res.json()).items.map((item: { id: string }) => item.id);
}

Deno.test("PUT /files/<name>: 201 with Location of a new id, the name kept and served, /files/<name> no file", async () => {
  await using service = await startService();
  const { url } = service;
  const bytes = randomBytes(300_000);
  const stored = await put(url, "big.bin", bytes);
  assert.match(stored.id, ID);
  assert.equal(stored.location, `/files/${stored.id}`);
  assert.equal(stored.filename, "big.bin");
  assert.equal(stored.size, bytes.length);
  assert.equal(stored.sha256, sha256Hex(bytes));
  const got = await fetch(`${url}${stored.location}`);
  assert.equal(got.status, 200);
  assert.equal(
    got.headers.get("content-disposition"),
    "attachment; filename=big.bin",
  );
  assert.equal(
    sha256Hex(new Uint8Array(await got.arrayBuffer())),
    stored.sha256,
  );
  // The name is no resource of its own: the path's other methods are as
  // they were.
  for (const method of ["GET", "HEAD", "DELETE"]) {
    const res = await fetch(`${url}/files/big.bin`, { method });
    await res.body?.cancel();
    assert.equal(res.status, 404, method);
  }
  assert.deepEqual(await listed(url), [stored.id]);
});

Deno.test("PUT /files/<name>: the name is percent-decoded and cleaned as a form part's filename is", async () => {
  await using service = await startService();
  const cases: [string, string | undefined][] = [
    ["my%20file.bin", "my file.bin"],
    ["archive.tar.gz", "archive.tar.gz"],
    [".hidden", ".hidden"],
    ["caf%C3%A9.txt", "café.txt"],
    // No UTF-8 (a Latin-1 name as curl escapes its bytes): U+FFFD.
    ["caf%E9.txt", "caf\uFFFD.txt"],
    ["100%.txt", "100%.txt"],
    // Its last segment, as of a form part's `C:\dir\a.txt`.
    ["dir%2Fsub%5Cc.txt", "c.txt"],
    ["invoice%E2%80%AEfdp.exe", "invoicefdp.exe"],
    ["%1B%5B31mred", "[31mred"],
    ["x%2F..", undefined],
    ["%00", undefined],
  ];
  for (const [segment, filename] of cases) {
    const stored = await put(service.url, segment, bytesOf(segment));
    assert.equal(stored.filename, filename, segment);
    assert.equal(stored.location, `/files/${stored.id}`);
  }
  const long = "n".repeat(300) + ".bin";
  const stored = await put(service.url, long, bytesOf("long"));
  // At most 255 bytes (a file system's name), the extension kept.
  assert.equal(stored.filename, "n".repeat(251) + ".bin");
});

Deno.test("PUT /files/.. and /files/%2e%2e are the root's PUT (405): the URL is resolved before routing", async () => {
  await using service = await startService();
  for (const path of ["/files/..", "/files/%2e%2e", "/files/%2E%2E/"]) {
    const res = await rawRequest(service.addr, {
      method: "PUT",
      path,
      headers: { "content-length": "1" },
      body: [bytesOf("x")],
    });
    assert.equal(res.status, 405, path);
  }
  assert.deepEqual(await listed(service.url), []);
});

Deno.test("PUT /files/<id>: created under the id, a stored id is 409 and never replaced, another Upload-Id 400", async () => {
  await using service = await startService();
  const { url } = service;
  const id = "0123456789abcdef0123456789abcdef";
  const first = randomBytes(1000);
  const stored = await put(url, id, first);
  assert.equal(stored.id, id);
  assert.equal(stored.location, `/files/${id}`);
  assert.equal(stored.filename, undefined, "an id is no name");

  const again = await fetch(`${url}/files/${id}`, {
    method: "PUT",
    body: randomBytes(1000),
  });
  const taken = await assertProblem(again, 409);
  assert.equal(taken.title, "Upload-Id taken");
  const kept = await fetch(`${url}/files/${id}`);
  assert.equal(
    sha256Hex(new Uint8Array(await kept.arrayBuffer())),
    stored.sha256,
  );

  const other = "f".repeat(32);
  const mismatch = await fetch(`${url}/files/${id}`, {
    method: "PUT",
    headers: { "upload-id": other },
    body: randomBytes(10),
  });
  assert.equal((await assertProblem(mismatch, 400)).title, "Invalid Upload-Id");
  const malformed = await fetch(`${url}/files/${id}`, {
    method: "PUT",
    headers: { "upload-id": "nope" },
    body: randomBytes(10),
  });
  assert.equal(
    (await assertProblem(malformed, 400)).title,
    "Invalid Upload-Id",
  );
  // The same id in both is that id.
  const head = await fetch(`${url}/files/${id}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  const removed = await fetch(`${url}/files/${id}`, { method: "DELETE" });
  assert.equal(removed.status, 204);
  const replaced = await put(url, id, randomBytes(20), { "upload-id": id });
  assert.equal(replaced.id, id);
  assert.deepEqual(await listed(url), [id]);

  // Not an id (upper case, or longer): a name, under a new id.
  const named = await put(url, id.toUpperCase(), randomBytes(5));
  assert.notEqual(named.id, id.toUpperCase());
  assert.equal(named.filename, id.toUpperCase());
});

Deno.test("PUT /files/<name> with a client-chosen Upload-Id: that id, with the name", async () => {
  await using service = await startService();
  const id = "00000000000000000000000000000042";
  const stored = await put(service.url, "report.pdf", randomBytes(64), {
    "upload-id": id,
    "content-type": "application/pdf",
  });
  assert.equal(stored.id, id);
  assert.equal(stored.filename, "report.pdf");
  const got = await fetch(`${service.url}/files/${id}`);
  assert.equal(got.headers.get("content-type"), "application/pdf");
  await got.body?.cancel();
});

Deno.test("PUT /files/<name> needs UPLOAD_TOKEN as POST does", async () => {
  await using service = await startService(["--upload-token", TOKEN]);
  const denied = await fetch(`${service.url}/files/big.bin`, {
    method: "PUT",
    body: randomBytes(10),
  });
  await assertProblem(denied, 401);
  assert.match(denied.headers.get("www-authenticate") ?? "", /^Bearer/);
  const stored = await put(service.url, "big.bin", randomBytes(10), {
    authorization: `Bearer ${TOKEN}`,
  });
  assert.equal(stored.filename, "big.bin");
});

Deno.test("PUT /files/<name> over MAX_UPLOAD_BYTES is 413 (declared, and chunked), past the free space 507", async () => {
  await using service = await startService(["--max-upload-bytes", `${MiB}`]);
  const declared = await rawRequest(service.addr, {
    method: "PUT",
    path: "/files/big.bin",
    headers: { "content-length": String(MiB + 1) },
  });
  assert.equal(declared.status, 413);
  const chunked = await fetch(`${service.url}/files/big.bin`, {
    method: "PUT",
    body: ReadableStream.from([randomBytes(MiB), randomBytes(10)]),
  });
  await assertProblem(chunked, 413);
  assert.deepEqual(await listed(service.url), []);

  await using roomy = await startService(["--max-upload-bytes", String(1e15)]);
  const noSpace = await rawRequest(roomy.addr, {
    method: "PUT",
    path: "/files/big.bin",
    headers: { "content-length": String(1e15) },
  });
  assert.equal(noSpace.status, 507, new TextDecoder().decode(noSpace.body));
  assert.deepEqual(await listed(roomy.url), []);
});

Deno.test("PUT /files/<name> with a form body: the path's name over the part's", async () => {
  await using service = await startService();
  const form = new FormData();
  form.append("file", new Blob([bytesOf("hello")]), "part.txt");
  const res = await fetch(`${service.url}/files/named.txt`, {
    method: "PUT",
    body: form,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  assert.equal(JSON.parse(text).filename, "named.txt");
});

Deno.test("PUT /files/<id> honours If-Match and If-None-Match (RFC 9110 13.1) and never replaces", async () => {
  await using service = await startService();
  const { url } = service;
  const id = "00000000000000000000000000000abc";
  const send = (headers: Record<string, string>) =>
    fetch(`${url}/files/${id}`, {
      method: "PUT",
      headers,
      body: randomBytes(100),
    });
  // If-Match with nothing stored is false: no file is created.
  await assertProblem(await send({ "if-match": "*" }), 412);
  assert.equal(
    (await fetch(`${url}/files/${id}`, { method: "HEAD" })).status,
    404,
  );
  // If-None-Match: * (create only) holds with nothing stored.
  const created = await send({ "if-none-match": "*" });
  assert.equal(created.status, 201, await created.text());
  const etag = created.headers.get("etag")!;
  const again = await send({ "if-none-match": "*" });
  await assertProblem(again, 412);
  assert.equal(again.headers.get("etag"), etag);
  await assertProblem(await send({ "if-match": '"other"' }), 412);
  // If-Match that holds asks for a replacement, which is not done.
  const replace = await send({ "if-match": etag });
  assert.equal((await assertProblem(replace, 409)).title, "Upload-Id taken");
  const kept = await fetch(`${url}/files/${id}`, { method: "HEAD" });
  assert.equal(kept.headers.get("etag"), etag);
  assert.deepEqual(await listed(url), [id]);
});
