/**
 * `putBytes` (services/storage/s3_put_bytes.ts, the bytes written straight
 * onto a connection) against a real `node:http` server on loopback: the
 * bytes go out after `100 Continue`, or after a second from a store that
 * ignores `Expect`; a store that refuses before `100 Continue` gets none,
 * and its answer is read whole (chunked here); bytes freed before that
 * moment (the upload failed elsewhere and detached its part buffers) fail
 * the PUT instead of throwing from the timer, which ended the process
 * (`TypeError: Cannot perform Construct on a detached ArrayBuffer`, seen
 * once in a full test run).
 *
 * @module
 */

import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { putBytes } from "../services/storage/s3_put_bytes.ts";

/** A store that never sends 100 Continue and answers 200 with the size. */
async function silentStore(): Promise<{ url: URL } & AsyncDisposable> {
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on("data", (chunk: Uint8Array) => size += chunk.byteLength);
    req.on("end", () => res.end(String(size)));
  });
  // Without this handler node answers 100 Continue itself.
  server.on("checkContinue", (req, res) => server.emit("request", req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/bucket/part`),
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

Deno.test("putBytes: a store that ignores Expect gets the bytes after the wait", async () => {
  await using store = await silentStore();
  const answer = await putBytes(store.url, new Headers(), new Uint8Array(1000));
  assert.equal(answer.status, 200);
  assert.equal(answer.text, "1000");
});

Deno.test("putBytes: bytes freed before they are sent reject the PUT, nothing thrown from the timer", async () => {
  await using store = await silentStore();
  const bytes = new Uint8Array(new ArrayBuffer(1000));
  const put = putBytes(store.url, new Headers(), bytes);
  // The upload failed elsewhere and freed its buffers (as FreeList does).
  bytes.buffer.transfer(0);
  await assert.rejects(put, /the part's bytes were freed/);
});

Deno.test("putBytes: a store that refuses before 100 Continue gets no bytes, and its chunked answer is read", async () => {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (chunk: Uint8Array) => received += chunk.byteLength);
    res.end();
  });
  server.on("checkContinue", (req, res) => {
    req.on("data", (chunk: Uint8Array) => received += chunk.byteLength);
    // No Content-Length: node sends the body chunked, in two chunks.
    res.writeHead(403, { "content-type": "application/xml", etag: '"x"' });
    res.write("<Error><Code>AccessDenied</Code>");
    setTimeout(() => res.end("</Error>"), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const answer = await putBytes(
      new URL(`http://127.0.0.1:${port}/bucket/part?partNumber=1`),
      new Headers({ authorization: "AWS4-HMAC-SHA256 ..." }),
      new Uint8Array(4 * 1024 * 1024),
    );
    assert.equal(answer.status, 403);
    assert.equal(answer.headers.get("etag"), '"x"');
    assert.equal(answer.text, "<Error><Code>AccessDenied</Code></Error>");
    assert.equal(received, 0);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * A store on a raw loopback socket (framings node:http's server never
 * sends): reads the head and `Content-Length` bytes of one PUT, then
 * writes `answer`'s pieces in turn (after the head, `interim` first, as an
 * answer to `Expect`) and closes. Resolves the bytes the store received.
 */
async function rawStore(
  answer: { interim?: string; pieces: string[] },
  run: (url: URL) => Promise<void>,
): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    using conn = await listener.accept();
    let seen = "";
    const into = new Uint8Array(64 * 1024);
    while (!seen.includes("\r\n\r\n")) {
      seen += new TextDecoder().decode(
        into.subarray(0, await conn.read(into) ?? 0),
      );
    }
    const head = seen.slice(0, seen.indexOf("\r\n\r\n"));
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    const enc = new TextEncoder();
    if (answer.interim) await conn.write(enc.encode(answer.interim));
    let received = seen.length - head.length - 4;
    while (received < length) {
      const n = await conn.read(into);
      if (n === null) break;
      received += n;
    }
    for (const piece of answer.pieces) await conn.write(enc.encode(piece));
    return received;
  })();
  try {
    await run(new URL(`http://127.0.0.1:${listener.addr.port}/bucket/part`));
    return await served;
  } finally {
    listener.close();
  }
}

Deno.test("putBytes: interim answers before the final one are passed over, and a Content-Length body is read", async () => {
  const received = await rawStore({
    interim: "HTTP/1.1 100 Continue\r\n\r\n",
    pieces: [
      "HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n",
      'HTTP/1.1 200 OK\r\nETag: "abc"\r\nContent-Length: 5\r\n\r\nhe',
      "llo",
    ],
  }, async (url) => {
    const answer = await putBytes(url, new Headers(), new Uint8Array(70_000));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("etag"), '"abc"');
    assert.equal(answer.text, "hello");
  });
  assert.equal(received, 70_000);
});

Deno.test("putBytes: an answer framed by the close is read whole; a long one is cut at 64 KiB", async () => {
  const pieces = [
    "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n<Error>",
    "<Code>InternalError</Code></Error>",
  ];
  const interim = "HTTP/1.1 100 Continue\r\n\r\n";
  await rawStore({ interim, pieces }, async (url) => {
    const answer = await putBytes(url, new Headers(), new Uint8Array(10));
    assert.equal(answer.status, 500);
    assert.equal(answer.text, "<Error><Code>InternalError</Code></Error>");
  });
  const long = ["HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n"];
  for (let i = 0; i < 20; i++) long.push("x".repeat(10_000));
  await rawStore({ interim, pieces: long }, async (url) => {
    const answer = await putBytes(url, new Headers(), new Uint8Array(10));
    assert.equal(answer.status, 200);
    assert.equal(answer.text, "x".repeat(64 * 1024));
  });
});
