/**
 * `readBody()` (`services/http/read_body.ts`): bodies read into owned,
 * exact-size buffers, declared lengths honoured and checked, the cap and the
 * signal stopping the read, and its options validated.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BodyTooLargeError, readBody } from "../services/http/read_body.ts";

/**
 * A stream of `count` chunks of `size` bytes, each a view into its own
 * 64 KiB buffer (as network reads hand them out); it records pulls and
 * whether it was cancelled.
 */
function viewStream(count: number, size: number) {
  const seen = { pulls: 0, cancelled: false };
  let n = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      seen.pulls++;
      if (n === count) return controller.close();
      const view = new Uint8Array(new ArrayBuffer(64 * 1024), 7, size);
      controller.enqueue(view.fill(n++ % 251));
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

function expected(count: number, size: number): Uint8Array {
  const body = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) body.fill(i % 251, i * size, (i + 1) * size);
  return body;
}

Deno.test("readBody() of a chunked body owns an exact-size buffer", async () => {
  const { stream } = viewStream(1000, 300);
  const body = await readBody(stream, { maxBytes: 1 << 20 });
  assert.equal(body.byteLength, 300_000);
  assert.equal(body.buffer.byteLength, 300_000);
  assert.deepEqual(body, expected(1000, 300));
});

Deno.test("readBody() with a declared length reads into one buffer of it", async () => {
  const { stream } = viewStream(1, 292);
  const body = await readBody(stream, { maxBytes: 1000, expectedBytes: 292 });
  assert.equal(body.buffer.byteLength, 292);
  assert.deepEqual(body, expected(1, 292));
});

Deno.test("readBody() copes with bodies longer or shorter than declared", async () => {
  const longer = await readBody(viewStream(10, 100).stream, {
    maxBytes: 10_000,
    expectedBytes: 250,
  });
  assert.deepEqual(longer, expected(10, 100));
  assert.equal(longer.buffer.byteLength, 1000);
  const shorter = await readBody(viewStream(2, 100).stream, {
    maxBytes: 10_000,
    expectedBytes: 500,
  });
  assert.deepEqual(shorter, expected(2, 100));
  assert.equal(shorter.buffer.byteLength, 200);
});

Deno.test("readBody() stops at the cap and cancels the stream", async () => {
  const { stream, seen } = viewStream(Infinity, 1000);
  await assert.rejects(
    () => readBody(stream, { maxBytes: 10_500 }),
    (error: unknown) => {
      assert.ok(error instanceof BodyTooLargeError);
      assert.equal(error.maxBytes, 10_500);
      return true;
    },
  );
  assert.ok(seen.cancelled);
  assert.ok(seen.pulls <= 12, `pulled ${seen.pulls} chunks`);
  // Exactly the cap is still fine.
  const body = await readBody(viewStream(10, 1000).stream, {
    maxBytes: 10_000,
  });
  assert.equal(body.byteLength, 10_000);
});

Deno.test("readBody() refuses a declared length past the cap without reading", async () => {
  const { stream, seen } = viewStream(Infinity, 1000);
  await assert.rejects(
    () => readBody(stream, { maxBytes: 100, expectedBytes: 101 }),
    (error: unknown) =>
      error instanceof BodyTooLargeError && error.declaredBytes === 101,
  );
  assert.ok(seen.cancelled);
  assert.equal(seen.pulls, 0);
});

Deno.test("readBody() stops when its signal aborts", async () => {
  const seen = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(10));
      // ...and nothing more: the read hangs until the abort.
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  const controller = new AbortController();
  const reading = readBody(stream, {
    maxBytes: 1000,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("caller left")), 10);
  await assert.rejects(() => reading, /caller left/);
  assert.ok(seen.cancelled);
});

Deno.test("readBody() of no body is empty; options are validated", async () => {
  assert.equal((await readBody(null, { maxBytes: 10 })).byteLength, 0);
  assert.equal(
    (await readBody(viewStream(0, 1).stream, { maxBytes: 10 })).byteLength,
    0,
  );
  await assert.rejects(() => readBody(null, { maxBytes: -1 }), RangeError);
  await assert.rejects(
    () => readBody(null, { maxBytes: 10, expectedBytes: 1.5 }),
    RangeError,
  );
});

/** A server whose body is `count` writes of `size` bytes. */
function smallWrites(count: number, size: number) {
  return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    let n = 0;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (n === count) return controller.close();
          controller.enqueue(new Uint8Array(size).fill(n++ % 251));
        },
      }),
    );
  });
}

Deno.test("readBody() reads a fetch body (a byte stream) into owned buffers", async () => {
  await using server = smallWrites(1000, 2048);
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const body = await readBody((await fetch(url)).body, { maxBytes: 1 << 22 });
  assert.equal(body.buffer.byteLength, 2_048_000);
  assert.deepEqual(body, expected(1000, 2048));
  const declared = await readBody((await fetch(url)).body, {
    maxBytes: 1 << 22,
    expectedBytes: 2_048_000,
  });
  assert.equal(declared.buffer.byteLength, 2_048_000);
  assert.deepEqual(declared, expected(1000, 2048));
  const res = await fetch(url);
  await assert.rejects(
    () => readBody(res.body, { maxBytes: 100_000 }),
    BodyTooLargeError,
  );
  assert.ok(res.bodyUsed);
});
