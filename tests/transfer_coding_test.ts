/**
 * A request body sent with a transfer coding besides `chunked`
 * (`Transfer-Encoding: gzip, chunked`): the runtime takes the chunked
 * framing off and hands the handler the bytes still gzip-coded, and an
 * upload stored those coded bytes as the file with a 201 (a SHA-256 of
 * bytes the client never meant), a write passed them on as JSON. RFC 9112
 * 6.1 asks a server for 501 on a transfer coding it does not decode: a
 * problem+json 501, nothing kept, nothing sent upstream. A coding of the
 * content goes in `Content-Encoding` (decoded, see
 * `upload_coding_test.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { untilClosed } from "./fixtures/until_closed.ts";

/** `body` as one chunk of a chunked body, then the last chunk. */
function chunked(body: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${body.length.toString(16)}\r\n`);
  const tail = new TextEncoder().encode("\r\n0\r\n\r\n");
  return new Uint8Array([...head, ...body, ...tail]);
}

/** Sends a head and `body` on a raw connection; the status and body. */
async function raw(port: number, head: string, body: Uint8Array) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new Uint8Array([...new TextEncoder().encode(head), ...body]),
  );
  const { text } = await untilClosed(conn, 10_000);
  const [answerHead = "", answerBody = ""] = text.split("\r\n\r\n");
  return { status: Number(answerHead.split(" ")[1]), answerHead, answerBody };
}

Deno.test("a body with a transfer coding besides chunked is 501 problem+json: no file stored, nothing sent upstream", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const port = Number(new URL(served.url).port);
  const coded = chunked(gzipSync(new TextEncoder().encode('{"title":"t"}')));
  const doc = await (await fetch(`${served.url}/openapi.json`)).json();
  // Every method that takes a body: the answer, and the document
  // declaring it for that operation (PUT's 501 was left out).
  for (
    const [method, target, path, type] of [
      ["POST", "/files", "/files", "application/octet-stream"],
      ["PUT", "/files", "/files", "application/octet-stream"],
      ["POST", "/posts", "/posts", "application/json"],
      ["PUT", "/posts/1", "/posts/{id}", "application/json"],
      ["PATCH", "/posts/1", "/posts/{id}", "application/json"],
    ] as const
  ) {
    for (const codings of ["gzip, chunked", "deflate,chunked"]) {
      const answer = await raw(
        port,
        `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
          `Content-Type: ${type}\r\nTransfer-Encoding: ${codings}\r\n\r\n`,
        coded,
      );
      const where = `${method} ${target} ${codings}: ${answer.answerHead}`;
      assert.equal(answer.status, 501, where);
      assert.match(answer.answerHead, /application\/problem\+json/i, where);
      const problem = JSON.parse(answer.answerBody);
      assert.equal(problem.status, 501);
      assert.match(problem.detail, /Content-Encoding/);
    }
    assert.ok(
      doc.paths[path][method.toLowerCase()].responses["501"],
      `${method} ${path} declares its 501`,
    );
  }
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.deepEqual(list.items, []);
  assert.equal(
    upstream.requests.filter((r) => r.method !== "GET").length,
    0,
  );
  // Chunked alone is what every client sends, and stays taken.
  const plain = await raw(
    port,
    "POST /files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n",
    chunked(new TextEncoder().encode("hello")),
  );
  assert.equal(plain.status, 201, plain.answerHead);
});
