/**
 * A `Content-Digest` sent as a trailer (RFC 9110 6.5) is never read:
 * Deno 2.9.6's `Request` has no trailers. Before, an upload announcing one
 * (`Trailer: Content-Digest`) with a false digest after its last chunk
 * was stored as sent, 201, the sender believing it checked; now it is
 * 400 problem+json before the body is read, nothing kept. Sent with a
 * raw HTTP/1.1 socket (chunked, trailer after the last chunk) and with
 * nghttp's `--trailer` over h2c (which announces it in `trailer`). A
 * digest in the head is checked as ever, a trailer beside it ignored.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { serveApp } from "./fixtures/served_app.ts";
import { runTool } from "./fixtures/tool.ts";
import { exchange, type RawAnswer } from "./fixtures/until_closed.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

const NGHTTP_INSTALL = "apt-get install -y nghttp2-client";
const BODY = "abc";
const ABC = "sha-256=:" +
  Buffer.from(
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "hex",
  ).toString("base64") + ":";
const FALSE = `sha-256=:${Buffer.alloc(32, 7).toString("base64")}:`;

/**
 * POSTs `BODY` to /files on a raw socket, chunked, with `head` lines and
 * `trailer` lines after the last chunk; the answer's status and body.
 */
async function chunkedUpload(
  url: string,
  head: string[],
  trailer: string[],
): Promise<RawAnswer> {
  const lines = [
    "POST /files HTTP/1.1",
    "host: x",
    "content-type: text/plain",
    "transfer-encoding: chunked",
    "connection: close",
    ...head,
  ];
  const request = `${lines.join("\r\n")}\r\n\r\n3\r\n${BODY}\r\n0\r\n` +
    trailer.map((line) => `${line}\r\n`).join("") + "\r\n";
  return await exchange(url, request);
}

/** The ids stored so far. */
async function stored(url: string): Promise<string[]> {
  const list = await (await fetch(`${url}/files`)).json();
  return list.items.map((item: { id: string }) => item.id);
}

Deno.test("an upload announcing its Content-Digest as a trailer is 400 before its body is read, over HTTP/1.1 and h2c; a digest in the head is checked as ever", async () => {
  await using served = await serveApp({});
  const announced = await chunkedUpload(served.url, [
    "trailer: Content-Digest",
  ], [`content-digest: ${FALSE}`]);
  assert.equal(announced.status, 400, announced.body);
  const problem = JSON.parse(announced.body);
  assert.equal(problem.title, "Digest in a trailer");
  assert.match(problem.detail, /send it as a header field/);
  const repr = await chunkedUpload(served.url, [
    "trailer: x-other, Repr-Digest",
  ], [`repr-digest: ${FALSE}`]);
  assert.equal(repr.status, 400, repr.body);
  assert.deepEqual(await stored(served.url), [], "nothing kept");

  await using temp = await tempDir({ prefix: "trailer_digest-" });
  const dir = temp.path;
  await Deno.writeTextFile(`${dir}/body`, BODY);
  const h2 = await runTool("nghttp", [
    "--data",
    `${dir}/body`,
    "--trailer",
    `content-digest: ${FALSE}`,
    "--stat",
    `${served.url}/files`,
  ], { install: NGHTTP_INSTALL });
  assert.match(h2.stdout, /"title":"Digest in a trailer"/, h2.stdout);
  assert.deepEqual(await stored(served.url), [], "nothing kept over h2c");

  // With a digest in its head, that one is checked: true, stored; false,
  // refused; the trailer beside it is not read either way.
  const checked = await chunkedUpload(served.url, [
    `content-digest: ${ABC}`,
    "trailer: Content-Digest",
  ], [`content-digest: ${FALSE}`]);
  assert.equal(checked.status, 201, checked.body);
  const mismatch = await chunkedUpload(served.url, [
    `content-digest: ${FALSE}`,
    "trailer: Content-Digest",
  ], [`content-digest: ${ABC}`]);
  assert.equal(mismatch.status, 400, mismatch.body);
  assert.equal((await stored(served.url)).length, 1);
});

Deno.test("a trailer sent without Trailer is not seen at all: the runtime drops it, and the upload is stored as sent", async () => {
  await using served = await serveApp({});
  const unannounced = await chunkedUpload(served.url, [], [
    `content-digest: ${FALSE}`,
  ]);
  // What README's Uploads says: nothing tells the handler a trailer came.
  assert.equal(unannounced.status, 201, unannounced.body);
  assert.equal(JSON.parse(unannounced.body).size, BODY.length);
});
