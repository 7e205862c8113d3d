/**
 * The reader->writer queue of the upload pipeline bounds for real: behind a
 * slow writer the reader blocks in `put` on a full queue (and that wait is
 * `readerBlockedMs`); behind a slow body the writer idles on an empty one.
 * Also the {@linkcode FreeList} the reader takes its buffers from.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { createLogger } from "../services/ops/logger.ts";
import { FreeList } from "../services/uploads/buffers.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { slowDisk } from "./fixtures/slow_disk.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const KiB = 1024;

/** A body of `count` chunks of `size` bytes, each after `delayMs`. */
function body(count: number, size: number, delayMs = 0) {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === count) return controller.close();
      if (delayMs > 0) await delay(delayMs);
      controller.enqueue(new Uint8Array(size).fill(sent++ & 0xff));
    },
  }, { highWaterMark: 0 });
}

Deno.test("upload queue: behind a slow writer the reader blocks on a full queue", async () => {
  await withTempDir(async (dir) => {
    const queueBytes = 64 * KiB;
    const bufferBytes = 16 * KiB;
    const seen = new Set<ArrayBufferLike>();
    const lines: string[] = [];
    const result = await receiveUpload(body(64, 4 * KiB), {
      begin: slowDisk(dir, {
        delayMs: 5,
        onWrite: (chunk) => seen.add(chunk.buffer),
      }),
      maxBytes: 1024 * KiB,
      queueBytes,
      writeBytes: bufferBytes,
      logger: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    });
    assert.equal(result.size, 256 * KiB);
    assert.equal(result.bound, "write");
    assert.ok(result.readerBlockedMs > 0, `blocked ${result.readerBlockedMs}`);
    // The queue filled up to its capacity: that, not a buffer budget, is
    // what held the reader back.
    assert.equal(result.maxQueuedBytes, queueBytes);
    // readerBlockedMs is the time in puts that found the queue full,
    // nothing else.
    const puts = lines.map((l) => JSON.parse(l)).filter((r) =>
      r.task === "reader" && r.op === "put" && r.full
    );
    assert.ok(puts.length > 0);
    const putMs = puts.reduce((sum, r) => sum + r.ms, 0);
    assert.ok(
      Math.abs(putMs - result.readerBlockedMs) <= 0.001 * puts.length + 0.01,
      `put ${putMs} vs blocked ${result.readerBlockedMs}`,
    );
    // Memory stays bounded: the queue's buffers, plus the one the reader
    // fills and the one the writer writes.
    assert.ok(
      seen.size <= queueBytes / bufferBytes + 2,
      `${seen.size} buffers`,
    );
  });
});

Deno.test("upload queue: behind a slow body the writer idles on an empty queue", async () => {
  await withTempDir(async (dir) => {
    const result = await receiveUpload(body(20, 2 * KiB, 10), {
      begin: slowDisk(dir),
      maxBytes: 1024 * KiB,
      queueBytes: 64 * KiB,
      writeBytes: 16 * KiB,
    });
    assert.equal(result.size, 40 * KiB);
    assert.equal(result.bound, "read");
    assert.ok(result.writerIdleMs >= 100, `idle ${result.writerIdleMs}`);
    assert.ok(result.readerWaitMs >= 100, `wait ${result.readerWaitMs}`);
    // The queue never filled, so put never waited on it.
    assert.ok(result.maxQueuedBytes < 64 * KiB);
    assert.ok(
      result.readerBlockedMs < result.writerIdleMs / 10,
      `blocked ${result.readerBlockedMs}`,
    );
  });
});

Deno.test("upload queue: queued bytes stay within the capacity plus one buffer", async () => {
  await withTempDir(async (dir) => {
    // Odd sizes: a capacity that is no multiple of the buffers, chunks
    // that straddle them.
    const queueBytes = 100 * KiB;
    const bufferBytes = 48 * KiB;
    const result = await receiveUpload(body(60, 5000), {
      begin: slowDisk(dir, { delayMs: 3 }),
      maxBytes: 1024 * KiB,
      queueBytes,
      writeBytes: bufferBytes,
    });
    assert.equal(result.size, 60 * 5000);
    assert.ok(result.maxQueuedBytes > 0);
    assert.ok(
      result.maxQueuedBytes <= queueBytes + bufferBytes,
      `maxQueuedBytes ${result.maxQueuedBytes}`,
    );
  });
});

Deno.test("upload queue: a failed upload's queued buffers are freed at once, not left to the collector", async () => {
  const MiB = 1024 * KiB;
  const queueBytes = 8 * MiB;
  // One source chunk, sent again and again: the body itself allocates
  // nothing while it is read.
  const source = new Uint8Array(MiB);
  const endless = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(source),
  }, { highWaterMark: 0 });
  const stop = new AbortController();
  let writes = 0;
  // A store that takes the first buffer and then hangs until the stop
  // (a disk gone slow), so the reader fills the queue and waits on it.
  const sink = {
    id: "hangs",
    write: () => {
      writes++;
      return new Promise<void>((resolve) =>
        stop.signal.addEventListener("abort", () => resolve(), { once: true })
      );
    },
    commit: () => Promise.reject(new Error("not reached")),
    abort: () => Promise.resolve(),
  };
  const before = Deno.memoryUsage().external;
  const upload = receiveUpload(endless, {
    begin: () => Promise.resolve(sink),
    maxBytes: 1024 * MiB,
    queueBytes,
    writeBytes: MiB,
    signal: stop.signal,
  });
  let held = 0;
  for (let i = 0; i < 500 && held < queueBytes; i++) {
    await delay(10);
    held = Deno.memoryUsage().external - before;
  }
  assert.equal(writes, 1);
  assert.ok(held >= queueBytes, `${held} bytes held, the queue not full`);
  stop.abort(new Error("stopped"));
  await assert.rejects(upload, /stopped/);
  // Left to the collector, the queue's buffers (8 MiB) and the one waiting
  // to go in were still held when the next upload allocated its own: a
  // gzip bomb's 413 after another grew the peak RSS by that much more.
  // What may stay: the buffer the writer had, the one the reader filled.
  const left = Deno.memoryUsage().external - before;
  assert.ok(left <= 2 * MiB, `${(left / MiB).toFixed(1)} MiB still held`);
});

Deno.test("FreeList reuses given-back buffers and never waits", () => {
  const buffers = new FreeList();
  const a = buffers.take(16);
  const b = buffers.take(16);
  assert.notEqual(a, b);
  assert.equal(buffers.allocations, 2);
  buffers.give(a);
  assert.equal(buffers.take(16), a);
  assert.equal(buffers.allocations, 2);
  // Buffers of another size give way to the size wanted now.
  buffers.give(b);
  const big = buffers.take(64);
  assert.equal(big.byteLength, 64);
  assert.equal(buffers.length, 0);
  assert.equal(buffers.allocations, 3);
  // ...and are freed at once (detached), not left to the collector.
  assert.equal(b.detached, true);
  // A detached buffer (transferred away) is dropped.
  const moved = buffers.take(64);
  moved.transfer();
  buffers.give(moved);
  assert.equal(buffers.length, 0);
  assert.throws(() => buffers.take(0), RangeError);
  assert.throws(() => buffers.take(1.5), RangeError);
  assert.throws(() => buffers.give("x" as unknown as ArrayBuffer), TypeError);
});

Deno.test("FreeList.clear frees the free buffers at once and stays usable", () => {
  const buffers = new FreeList();
  const a = buffers.take(32);
  const b = buffers.take(32);
  buffers.give(a);
  buffers.give(b);
  buffers.clear();
  assert.equal(buffers.length, 0);
  assert.equal(a.detached, true);
  assert.equal(b.detached, true);
  const c = buffers.take(32);
  assert.equal(c.byteLength, 32);
  assert.equal(buffers.allocations, 3);
});
