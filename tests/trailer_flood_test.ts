/**
 * A chunked body whose trailer section (header fields after the last
 * chunk) does not end. Deno 2.9.6 reads such fields into memory with no
 * bound while the body's read waits: one raw socket took the process to
 * 4.6 GB in 30 s on `POST /posts` and 1.2 GB in 10 s on `POST /files`,
 * and the upload's 408 then said "averaged 0 bytes/s" of a body that had
 * arrived whole. Now a chunked body whose read waits while the process
 * grows 256 MiB is answered 431 problem+json (connection closed, nothing
 * kept), and a chunked upload that arrived and then went silent is told
 * so in its 408. Raw sockets: no HTTP library sends such a body.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;
// Sent at most: the 431 comes after 256 MiB of growth (plus a sample or
// two); the old code took it all and answered later, if at all.
const FLOOD_MAX_BYTES = 1024 * MiB;

/** Trailer lines of 1 KiB each, 1 MiB in all, no end. */
function fieldLines(): Uint8Array {
  const line = `X-Y: ${"b".repeat(1017)}\r\n`;
  return encoder.encode(line.repeat(1024));
}

/**
 * Sends `head` and a 5-byte chunked body, its last chunk, then trailer
 * fields without end (up to FLOOD_MAX_BYTES) while reading the answer;
 * the answer's text once the server closes.
 */
async function flood(port: number, head: string): Promise<string> {
  using conn = await Deno.connect({ port });
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(65536);
    try {
      for (let n; (n = await conn.read(buffer)) !== null;) {
        text += decoder.decode(buffer.subarray(0, n), { stream: true });
      }
    } catch {
      // Reset once the server closed with our fields unread.
    }
  })();
  try {
    await conn.write(encoder.encode(`${head}5\r\nhello\r\n0\r\n`));
    const lines = fieldLines();
    for (let sent = 0; sent < FLOOD_MAX_BYTES && text === ""; sent += MiB) {
      await conn.write(lines);
    }
  } catch {
    // The server answered and closed while the fields were still going.
  }
  await reading;
  return text;
}

/**
 * The answer read off `conn` up to the end of its body (`Content-Length`):
 * the plain `Deno.serve` of these tests does not close a connection
 * whose request has not ended (the service's server does, 2 s after).
 */
async function readAnswer(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(65536);
  let text = "";
  for (let n; (n = await conn.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    const [head, body] = text.split("\r\n\r\n");
    const length = head?.match(/content-length: (\d+)/i)?.[1];
    if (body !== undefined && body.length >= Number(length)) break;
  }
  return text;
}

function chunkedHead(path: string, contentType: string): string {
  return `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: ${contentType}` +
    "\r\ntransfer-encoding: chunked\r\n\r\n";
}

interface Problem {
  detail: string;
  instance: string;
  minBytesPerSecond: number;
}

/** Status and problem body of a raw answer. */
function parse(text: string): { status: number; body: Problem } {
  const [head = "", body = ""] = text.split("\r\n\r\n");
  assert.match(head, /content-type: application\/problem\+json/i, text);
  return { status: Number(head.split(" ")[1]), body: JSON.parse(body) };
}

Deno.test("a chunked upload whose trailer fields never end is 431 problem+json before it fills memory, nothing kept", async () => {
  await using served = await serveApp({});
  const port = Number(new URL(served.url).port);
  const text = await flood(
    port,
    chunkedHead("/files", "application/octet-stream"),
  );
  const { status, body } = parse(text);
  assert.equal(status, 431, text);
  assert.match(body.detail, /trailer section/);
  assert.match(body.detail, /nothing was kept/);
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.deepEqual(list.items, []);
  assert.ok(
    served.records.some((r) => r.upload === "trailer_flood"),
    "the upload's outcome is logged as trailer_flood",
  );
});

Deno.test("a chunked write (POST /posts) whose trailer fields never end is 431 problem+json, nothing sent upstream", async () => {
  await using served = await serveApp({});
  const port = Number(new URL(served.url).port);
  const text = await flood(port, chunkedHead("/posts", "application/json"));
  const { status, body } = parse(text);
  assert.equal(status, 431, text);
  assert.match(body.detail, /trailer section/);
  assert.equal(body.instance, "/posts");
});

Deno.test("a chunked upload that arrived, then went silent before its end, is told so in its 408, not '0 bytes/s'", async () => {
  await using served = await serveApp({
    args: ["--upload-rate-window-ms", "500"],
  });
  const port = Number(new URL(served.url).port);
  using conn = await Deno.connect({ port });
  // The last chunk, one trailer field, and no blank line after it.
  await conn.write(encoder.encode(
    chunkedHead("/files", "application/octet-stream") +
      "5\r\nhello\r\n0\r\nx-t: a\r\n",
  ));
  const text = await readAnswer(conn);
  const { status, body } = parse(text);
  assert.equal(status, 408, text);
  assert.match(body.detail, /received 5 bytes, then nothing for \d+ ms/);
  assert.match(body.detail, /has not ended/);
  const [, rate] = body.detail.match(/(\d+) bytes\/s on average/) ?? [];
  assert.ok(Number(rate) < body.minBytesPerSecond, body.detail);
});

Deno.test("a chunked upload with 16 KiB of trailer fields that end is stored (201)", async () => {
  await using served = await serveApp({});
  const fields = Array.from(
    { length: 16 },
    (_, i) => `x-t${i}: ${"a".repeat(1000)}\r\n`,
  ).join("");
  const port = Number(new URL(served.url).port);
  using conn = await Deno.connect({ port });
  await conn.write(encoder.encode(
    chunkedHead("/files", "application/octet-stream").replace(
      "\r\n\r\n",
      "\r\nconnection: close\r\n\r\n",
    ) + `5\r\nhello\r\n0\r\n${fields}\r\n`,
  ));
  const text = new TextDecoder().decode(
    await new Response(conn.readable).arrayBuffer(),
  );
  assert.equal(Number(text.split(" ")[1]), 201, text);
  assert.match(text, /"size":5/);
});
