/**
 * `putBytes` (services/storage/s3_put_bytes.ts) against a real `node:http`
 * server on loopback: the bytes go out after `100 Continue`, or after a
 * second from a store that ignores `Expect`; bytes freed before that
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
