/**
 * An upload whose body is framed by neither `Content-Length` nor
 * `Transfer-Encoding` (an HTTP/1.0 POST of a stream, `curl -T -` from a pipe
 * with `-H 'Transfer-Encoding:'`): over HTTP/1.x its body is empty (RFC 9112
 * 6.3), whatever follows the headers, so storing it stored an empty file with a
 * 201. It is 411 Length Required, problem+json, nothing kept; an empty body
 * that says so (`Content-Length: 0`, an empty chunked one) is still a file, and
 * an HTTP/2 upload, whose frames delimit it without either header, is not
 * refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { untilClosed } from "./fixtures/until_closed.ts";
import { runTool } from "./fixtures/tool.ts";
import { EMPTY_SHA256 } from "./fixtures/files_service.ts";

/** Sends `request` on a raw connection; resolves the status and body. */
async function raw(port: number, request: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  const { text } = await untilClosed(conn, 10_000);
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), head, body };
}

/** The ids of the stored files. */
async function storedIds(url: string): Promise<string[]> {
  const list = await (await fetch(`${url}/files`)).json();
  return list.items.map((f: { id: string }) => f.id);
}

Deno.test("an upload framed by neither Content-Length nor Transfer-Encoding is 411 problem+json, nothing kept", async () => {
  await using served = await serveApp({});
  const port = Number(new URL(served.url).port);
  for (
    const request of [
      "POST /files HTTP/1.0\r\nHost: x\r\n\r\nhello",
      "POST /files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nhello",
      "PUT /files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
      "Content-Type: application/octet-stream\r\n\r\n",
    ]
  ) {
    const answer = await raw(port, request);
    assert.equal(answer.status, 411, `${request}: ${answer.head}`);
    assert.match(answer.head, /content-type: application\/problem\+json/i);
    const problem = JSON.parse(answer.body);
    assert.equal(problem.status, 411);
    assert.match(problem.detail, /Content-Length/);
  }
  assert.deepEqual(await storedIds(served.url), []);
});

Deno.test("curl -T - from a pipe with its chunked coding turned off gets 411, and an empty body that says so is still a file", async () => {
  await using served = await serveApp({});
  // (curl refuses -T - under --http1.0 itself: "Chunky upload is not
  // supported by HTTP 1.0"; without Transfer-Encoding it sends the bytes
  // with no framing, as an HTTP/1.0 client does.)
  for (const version of ["--http1.1", "--http1.0"]) {
    const piped = await runTool("sh", [
      "-c",
      `printf hello | curl -sS ${version} -H 'Transfer-Encoding:' -o /dev/null -w '%{http_code}' -T - ${served.url}/files`,
    ], { install: "apt-get install -y curl" });
    assert.equal(piped.stdout, "411", `${version}: ${piped.stderr}`);
  }
  const port = Number(new URL(served.url).port);
  for (
    const request of [
      "POST /files HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
      "POST /files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]
  ) {
    const answer = await raw(port, request);
    assert.equal(answer.status, 201, `${request}: ${answer.head}`);
    const created = JSON.parse(answer.body);
    assert.equal(created.size, 0);
    assert.equal(created.sha256, EMPTY_SHA256);
  }
  assert.equal((await storedIds(served.url)).length, 2);
});

Deno.test("an HTTP/2 upload, framed by its DATA frames without Content-Length, is stored", async () => {
  await using served = await serveApp({});
  const out = await runTool("sh", [
    "-c",
    `printf hello | curl -sS --http2-prior-knowledge -T - ${served.url}/files`,
  ], { install: "apt-get install -y curl" });
  assert.equal(out.code, 0, out.stderr);
  const created = JSON.parse(out.stdout);
  assert.equal(created.size, 5, out.stdout);
  assert.deepEqual(await storedIds(served.url), [created.id]);
});
