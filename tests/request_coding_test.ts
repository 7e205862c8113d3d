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

Deno.test("decodedBody decodes a bomb into the reader's own views, a view at a time, reading its body only as fast as they are read", async () => {
  // 64 KiB of this gzip is 64 MiB of zeros: DecompressionStream gave it in
  // one buffer of its own.
  const body = countedBody(await gzipBombChunks(256 * MiB));
  const reader = decodedBody(body.stream, "gzip").getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(MiB);
  let decoded = 0;
  while (decoded < 128 * MiB) {
    const { done, value } = await reader.read(
      new Uint8Array(buffer, 4096, 256 * 1024),
    );
    assert.equal(done, false);
    // The bytes are in the view given (the buffer it was moved to).
    assert.equal(value!.byteOffset, 4096);
    assert.ok(value!.byteLength <= 256 * 1024);
    buffer = value!.buffer as ArrayBuffer;
    decoded += value!.byteLength;
  }
  // 128 MiB are 2 of its 64 KiB chunks; one more may be in flight.
  assert.ok(body.pulled <= 3, `${body.pulled} chunks read`);
  await reader.cancel();
  // A reader without views of its own gets chunks of 64 KiB at most.
  const plain = decodedBody(
    countedBody(await gzipBombChunks(16 * MiB)).stream,
    "gzip",
  ).getReader();
  const { value } = await plain.read();
  assert.ok(value!.byteLength <= 64 * 1024, `${value!.byteLength}`);
  await plain.cancel();
});

Deno.test("decodedBody takes a gzip of several members (RFC 1952), as gzip, pigz and bgzip write them, and refuses bytes other than zeros after the end", async () => {
  const parts = ["first member\n", "", "second member\n"].map((text) =>
    new TextEncoder().encode(text)
  );
  const members = await Promise.all(parts.map((p) => encoded(p, "gzip")));
  const joined = new Uint8Array(await new Blob(members).arrayBuffer());
  // Sent whole, and a byte at a time (members split across chunks).
  for (const chunks of [[joined], [...joined].map((b) => Uint8Array.of(b))]) {
    assert.equal(
      await new Response(decodedBody(countedBody(chunks).stream, "gzip"))
        .text(),
      "first member\nsecond member\n",
    );
  }
  const deflate = await encoded(parts[0]!, "deflate");
  for (
    const [coding, coded] of [
      ["gzip", [...members, Uint8Array.of(1, 2, 3)]],
      ["gzip", [members[0]!, new Uint8Array(4), Uint8Array.of(0, 9)]],
      ["deflate", [deflate, deflate]],
      ["deflate", [deflate, Uint8Array.of(0, 0, 1)]],
    ] as const
  ) {
    await assert.rejects(
      new Response(decodedBody(countedBody([...coded]).stream, coding))
        .bytes(),
      BodyCodingError,
      `${coding} with ${coded.length} chunks`,
    );
  }
});

Deno.test("decodedBody skips zeros after the end of the coded data, as tar and dd pad a file (and node's zlib skips them)", async () => {
  const text = new TextEncoder().encode("padded to its block\n");
  for (const coding of ["gzip", "deflate"] as const) {
    const coded = await encoded(text, coding);
    const padded = new Uint8Array(512);
    padded.set(coded);
    for (
      const chunks of [
        [padded],
        [coded, new Uint8Array(10240), new Uint8Array(3)],
        [...padded].map((b) => Uint8Array.of(b)),
      ]
    ) {
      assert.equal(
        await new Response(decodedBody(countedBody(chunks).stream, coding))
          .text(),
        "padded to its block\n",
        `${coding} in ${chunks.length} chunks`,
      );
    }
  }
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
