/**
 * The upload reader asks a byte stream (a request body is one) of known
 * length for at most 256 KiB per read, while its buffers, and so the
 * writes, stay whole (`writeBytes`, 2 MiB here): reads that big copy
 * through the main thread's cache rather than past it (bench/PROFILE.md,
 * "Upload CPU"). A body without a length (chunked) is asked for at most
 * 64 KiB: Deno 2.9's BYOB read of a chunked body with a larger view is
 * ~25 times slower (tests/chunked_upload_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { slowDisk } from "./fixtures/slow_disk.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A byte stream of `total` bytes that fills each read's view whole (as a
 * fast client's body does) and records the size each read asked for.
 */
function byteBody(total: number, asked: number[]): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const view = controller.byobRequest?.view;
      if (!view) throw new TypeError("the reader is expected to bring a view");
      if (sent === total) {
        controller.close();
        controller.byobRequest!.respond(0);
        return;
      }
      asked.push(view.byteLength);
      const n = Math.min(view.byteLength, total - sent);
      new Uint8Array(view.buffer, view.byteOffset, n).fill(sent & 0xff);
      sent += n;
      controller.byobRequest!.respond(n);
    },
  });
}

Deno.test("upload reader: reads ask for at most 256 KiB, writes carry whole buffers", async () => {
  await withTempDir(async (dir) => {
    const asked: number[] = [];
    const written: number[] = [];
    const total = 24 * MiB;
    const result = await receiveUpload(byteBody(total, asked), {
      // A slow disk, so the reader fills its buffers while it waits.
      begin: slowDisk(dir, {
        delayMs: 2,
        onWrite: (chunk) => written.push(chunk.byteLength),
      }),
      maxBytes: total,
      expectedLength: total,
      queueBytes: 8 * MiB,
      writeBytes: 2 * MiB,
    });
    assert.equal(result.size, total);
    assert.equal(written.reduce((sum, n) => sum + n, 0), total);
    assert.ok(asked.length > 0);
    assert.ok(
      Math.max(...asked) <= 256 * KiB,
      `largest read asked ${Math.max(...asked)} bytes`,
    );
    // Reads went to full size once the body proved fast...
    assert.ok(asked.filter((n) => n === 256 * KiB).length >= total / MiB);
    // ...and the buffers they filled went out whole: 2 MiB writes.
    assert.ok(
      written.filter((n) => n === 2 * MiB).length >= total / (4 * MiB),
      `writes ${written.join(",")}`,
    );
  });
});

Deno.test("upload reader: a body without a length is asked for at most 64 KiB a read", async () => {
  await withTempDir(async (dir) => {
    const asked: number[] = [];
    const written: number[] = [];
    const total = 8 * MiB;
    const result = await receiveUpload(byteBody(total, asked), {
      begin: slowDisk(dir, {
        delayMs: 2,
        onWrite: (chunk) => written.push(chunk.byteLength),
      }),
      maxBytes: total,
      queueBytes: 8 * MiB,
      writeBytes: 2 * MiB,
    });
    assert.equal(result.size, total);
    assert.equal(written.reduce((sum, n) => sum + n, 0), total);
    assert.equal(Math.max(...asked), 64 * KiB);
    // The buffers still go out whole.
    assert.ok(written.includes(2 * MiB), `writes ${written.join(",")}`);
  });
});
