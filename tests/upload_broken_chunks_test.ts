/**
 * An upload whose chunked framing breaks part-way (a chunk size that is no
 * hex number, a chunk without its CRLF, a malformed trailer): the runtime
 * rejects the body read with a plain `Error` ("invalid HTTP/1 request"),
 * which the upload's failure rules did not know, so the client's broken
 * body was a 500 logged as an error with its stack. It is the client's
 * mistake: 400 "Upload aborted", nothing kept, no error log. Raw sockets:
 * an HTTP library would not send such a body.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

const encoder = new TextEncoder();

/**
 * Sends `head`, then each of `parts` 150 ms apart (so the request is being
 * handled when the broken part arrives), and reads the answer to the end.
 */
async function send(url: string, head: string, parts: string[]) {
  const conn = await Deno.connect({ port: Number(new URL(url).port) });
  try {
    await conn.write(encoder.encode(head));
    for (const part of parts) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await conn.write(encoder.encode(part));
    }
    const text = new TextDecoder().decode(
      await new Response(conn.readable).arrayBuffer(),
    );
    const [answerHead = "", body = ""] = text.split("\r\n\r\n");
    return { status: Number(answerHead.split(" ")[1]), head: answerHead, body };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by reading to the end
    }
  }
}

function chunkedHead(contentType: string): string {
  return "POST /files HTTP/1.1\r\nhost: localhost\r\n" +
    `content-type: ${contentType}\r\ntransfer-encoding: chunked\r\n\r\n`;
}

const BOUNDARY = "b0undary";
const PART = `--${BOUNDARY}\r\n` +
  'content-disposition: form-data; name="file"; filename="a.txt"\r\n' +
  "content-type: text/plain\r\n\r\nhello\r\n";

Deno.test("an upload whose chunked framing breaks gets 400, keeps nothing and logs no error", async () => {
  await using served = await serveApp({});
  const cases = [
    {
      name: "chunk size not hex",
      head: chunkedHead("application/octet-stream"),
      parts: ["5\r\nhello\r\n", "zz\r\nxx\r\n0\r\n\r\n"],
    },
    {
      name: "chunk without its CRLF",
      head: chunkedHead("application/octet-stream"),
      parts: ["5\r\nhello\r\n", "3\r\nabcXX0\r\n\r\n"],
    },
    {
      name: "malformed trailer",
      head: chunkedHead("application/octet-stream"),
      parts: ["5\r\nhello\r\n", "0\r\nno colon here\r\n\r\n"],
    },
    {
      name: "form, chunk size not hex",
      head: chunkedHead(`multipart/form-data; boundary=${BOUNDARY}`),
      parts: [
        `${encoder.encode(PART).length.toString(16)}\r\n${PART}\r\n`,
        "zz\r\nxx\r\n0\r\n\r\n",
      ],
    },
  ];
  for (const { name, head, parts } of cases) {
    const answer = await send(served.url, head, parts);
    assert.equal(answer.status, 400, name);
    assert.match(answer.head, /content-type: application\/problem\+json/i);
    assert.equal(JSON.parse(answer.body).title, "Upload aborted", name);
  }
  const listed = await fetch(`${served.url}/files`);
  assert.deepEqual((await listed.json()).items, []);
  assert.deepEqual(served.records.filter((r) => r.level === "error"), []);
  assert.equal(
    served.records.filter((r) =>
      r.msg === "request" && r.status === 400 && r.upload === "aborted"
    ).length,
    cases.length,
  );
  // The service still takes a well-formed chunked upload.
  const good = await send(
    served.url,
    chunkedHead("application/octet-stream").replace(
      "\r\n\r\n",
      "\r\nconnection: close\r\n\r\n",
    ),
    ["5\r\nhello\r\n", "0\r\n\r\n"],
  );
  assert.equal(good.status, 201);
});
