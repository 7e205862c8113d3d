/**
 * Tests of services/http/request_coding.ts: the decoding the JSON writes
 * and the uploads share, on its own.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BodyCodingError,
  decodedBody,
  requestCoding,
} from "../services/http/request_coding.ts";
import { encoded, gzipOfZeros } from "./fixtures/coded_bodies.ts";

const MiB = 1024 * 1024;

/** `size` zeros in gzip, in chunks of 64 KiB as the server reads them. */
async function gzipBombChunks(size: number): Promise<Uint8Array[]> {
  const gzip = await gzipOfZeros(size);
  const chunks = [];
  for (let at = 0; at < gzip.byteLength; at += 65536) {
    chunks.push(gzip.subarray(at, at + 65536));
  }
  return chunks;
}

/** A body of `chunks` that counts how many were read from it. */
function countedBody(chunks: Uint8Array[]) {
  const body = { pulled: 0, stream: undefined! as ReadableStream<Uint8Array> };
  body.stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[body.pulled++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return body;
}

Deno.test("requestCoding takes gzip and deflate in any case, identity for none, and nothing else", () => {
  assert.equal(requestCoding(null), "identity");
  assert.equal(requestCoding(" "), "identity");
  assert.equal(requestCoding("Identity"), "identity");
  assert.equal(requestCoding("GZIP"), "gzip");
  assert.equal(requestCoding(" deflate "), "deflate");
  for (const value of ["br", "zstd", "gzip, gzip", "x-gzip", "compress"]) {
    assert.equal(requestCoding(value), undefined, value);
  }
});

Deno.test("decodedBody gives a bomb's bytes a few MiB at a time, reading its body only as fast as they are read", async () => {
  // 64 KiB of this gzip is 64 MiB of zeros: the decoder gave it in one
  // buffer.
  const body = countedBody(await gzipBombChunks(256 * MiB));
  const reader = decodedBody(body.stream, "gzip").getReader();
  let decoded = 0;
  let largest = 0;
  while (decoded < 128 * MiB) {
    const { done, value } = await reader.read();
    assert.equal(done, false);
    decoded += value!.byteLength;
    largest = Math.max(largest, value!.byteLength);
  }
  assert.ok(largest <= 8.5 * MiB, `a decoded chunk of ${largest} bytes`);
  // 128 MiB are 2 of its 64 KiB chunks; one more may be in flight.
  assert.ok(body.pulled <= 4, `${body.pulled} chunks read`);
  await reader.cancel();
});

Deno.test("decodedBody errors with BodyCodingError for a body not in its coding, and passes the body's own errors on", async () => {
  const text = new TextEncoder().encode("{}".repeat(1000));
  const gzip = await encoded(text, "gzip");
  for (
    const chunks of [
      [new TextEncoder().encode("not gzip")],
      [gzip.subarray(0, gzip.byteLength - 8)],
    ]
  ) {
    await assert.rejects(
      new Response(decodedBody(countedBody(chunks).stream, "gzip")).bytes(),
      BodyCodingError,
    );
  }
  const gone = new Error("the client went away");
  const broken = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(gzip.subarray(0, 10));
      controller.error(gone);
    },
  });
  await assert.rejects(
    new Response(decodedBody(broken, "gzip")).bytes(),
    (error) => error === gone,
  );
  // And whole, it is the text.
  assert.deepEqual(
    await new Response(decodedBody(countedBody([gzip]).stream, "gzip")).bytes(),
    text,
  );
});
