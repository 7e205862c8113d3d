/**
 * Tests of the upload pipeline without HTTP: sources are hand-made
 * ReadableStreams and a slow disk is a local-disk upload whose writes wait
 * (`fixtures/pipeline_sources.ts`). What a good upload stores and reports
 * (read- or write-bound, queue bounds, write sizes, the debug trace), and
 * the checks of its options; its failures are in `upload_failure_test.ts`.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { createLogger } from "../services/ops/logger.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { classifyBound } from "../services/uploads/upload_figures.ts";
import { isValidId } from "../services/storage/metadata.ts";
import { withTempDir as withDir } from "./fixtures/temp_dir.ts";
import {
  assertStored,
  byteSource,
  concat,
  into,
  KiB,
  makeChunks,
  sha256,
  slowSink,
  source,
  type Write,
} from "./fixtures/pipeline_sources.ts";

Deno.test("receiveUpload: slow source stores the bytes and is read-bound", async () => {
  await withDir(async (dir) => {
    const chunks = makeChunks(30, 1 * KiB);
    const data = concat(chunks);
    const result = await receiveUpload(source(chunks, { delayMs: 5 }).stream, {
      begin: into(dir),
      maxBytes: 1024 * KiB,
      expectedLength: data.byteLength,
      expectedSha256: sha256(data),
    });
    assert.ok(isValidId(result.id));
    assert.equal(result.size, data.byteLength);
    assert.equal(result.sha256, sha256(data).toString("hex"));
    assert.equal(result.sha256Base64, sha256(data).toString("base64"));
    assert.equal(result.bound, "read");
    // 30 waits of 5 ms each on the network, hardly any on the queue.
    assert.ok(
      result.readerWaitMs >= 100,
      `readerWaitMs ${result.readerWaitMs}`,
    );
    assert.ok(result.writerIdleMs > result.readerBlockedMs);
    assert.ok(result.bytesPerSecond > 0);
    await assertStored(dir, result.id, data);
  });
});

Deno.test("receiveUpload: slow disk stores the bytes and is write-bound", async () => {
  await withDir(async (dir) => {
    const chunkSize = 4 * KiB;
    const queueBytes = 64 * KiB;
    const chunks = makeChunks(256, chunkSize);
    const data = concat(chunks);
    const result = await receiveUpload(source(chunks).stream, {
      begin: into(dir, slowSink(3)),
      maxBytes: 1024 * KiB,
      queueBytes,
      writeBytes: 16 * KiB,
    });
    assert.equal(result.size, data.byteLength);
    assert.equal(result.bound, "write");
    // 64 coalesced writes of at least 3 ms each.
    assert.ok(
      result.writerWriteMs >= 150,
      `writerWriteMs ${result.writerWriteMs}`,
    );
    assert.ok(result.readerBlockedMs > result.writerIdleMs);
    assert.ok(result.maxQueuedBytes <= queueBytes + chunkSize);
    await assertStored(dir, result.id, data);
  });
});

Deno.test("receiveUpload: queued bytes stay within queueBytes plus one chunk", async () => {
  await withDir(async (dir) => {
    const chunkSize = 64 * KiB;
    const queueBytes = 200 * KiB;
    const chunks = makeChunks(48, chunkSize);
    const result = await receiveUpload(source(chunks).stream, {
      begin: into(dir, slowSink(2)),
      maxBytes: 8 * 1024 * KiB,
      queueBytes,
      writeBytes: 128 * KiB,
    });
    assert.equal(result.size, 48 * chunkSize);
    assert.ok(result.maxQueuedBytes > 0);
    assert.ok(
      result.maxQueuedBytes <= queueBytes + chunkSize,
      `maxQueuedBytes ${result.maxQueuedBytes}`,
    );
    await assertStored(dir, result.id, concat(chunks));
  });
});

Deno.test("receiveUpload: a byte stream is read straight into the buffers", async () => {
  await withDir(async (dir) => {
    // Odd chunks, so reads straddle the buffers' ends.
    const data = concat(makeChunks(40, 5000));
    const body = byteSource(data, 5000);
    const writes: number[] = [];
    const result = await receiveUpload(body.stream, {
      begin: into(dir, (write) => (p) => {
        writes.push(p.byteLength);
        return write(p);
      }),
      maxBytes: 1024 * KiB,
      queueBytes: 64 * KiB,
      writeBytes: 16 * KiB,
      expectedSha256: sha256(data),
    });
    assert.ok(body.byobReads > 0, "read with BYOB");
    assert.equal(result.size, data.byteLength);
    assert.ok(result.maxQueuedBytes <= 64 * KiB);
    assert.ok(Math.max(...writes) <= 16 * KiB, `writes ${writes}`);
    await assertStored(dir, result.id, data);
  });
});

Deno.test("receiveUpload: a fast body gets full-size writes, a slow one small ones", async () => {
  await withDir(async (dir) => {
    const recordWrites =
      (writes: number[]) => (write: Write): Write => async (p) => {
        writes.push(p.byteLength);
        await delay(2);
        await write(p);
      };
    const fast: number[] = [];
    const data = concat(makeChunks(64, 64 * KiB));
    await receiveUpload(byteSource(data, 64 * KiB).stream, {
      begin: into(dir, recordWrites(fast)),
      maxBytes: 8 * 1024 * KiB,
      queueBytes: 1024 * KiB,
      writeBytes: 256 * KiB,
    });
    assert.equal(Math.max(...fast), 256 * KiB);

    const slow: number[] = [];
    await receiveUpload(
      source(makeChunks(20, 2 * KiB), { delayMs: 2 }).stream,
      {
        begin: into(dir, recordWrites(slow)),
        maxBytes: 8 * 1024 * KiB,
        queueBytes: 1024 * KiB,
        writeBytes: 256 * KiB,
      },
    );
    assert.ok(Math.max(...slow) <= 64 * KiB, `writes ${slow}`);
  });
});

Deno.test("receiveUpload: time blocked on a slow disk is not idle time", async () => {
  await withDir(async (dir) => {
    const chunks = makeChunks(16, 4 * KiB);
    const result = await receiveUpload(source(chunks).stream, {
      begin: into(dir, slowSink(15)),
      maxBytes: 1024 * KiB,
      queueBytes: 8 * KiB,
      writeBytes: 4 * KiB,
      idleTimeoutMs: 40,
    });
    assert.ok(result.readerBlockedMs > 40, `blocked ${result.readerBlockedMs}`);
    await assertStored(dir, result.id, concat(chunks));
  });
});

Deno.test("receiveUpload: an empty body is stored", async () => {
  await withDir(async (dir) => {
    const result = await receiveUpload(source([]).stream, {
      begin: into(dir),
      maxBytes: 10,
      expectedLength: 0,
    });
    assert.equal(result.size, 0);
    assert.equal(result.bound, "read");
    await assertStored(dir, result.id, new Uint8Array());
  });
});

Deno.test("receiveUpload: debug trace records both tasks, only when enabled", async () => {
  await withDir(async (dir) => {
    const lines: string[] = [];
    const logger = createLogger({
      level: "debug",
      write: (line) => lines.push(line),
    });
    const result = await receiveUpload(source(makeChunks(3, KiB)).stream, {
      begin: into(dir),
      maxBytes: 10 * KiB,
      logger,
    });
    const records = lines.map((line) => JSON.parse(line));
    const ops = new Set(records.map((r) => `${r.task}:${r.op}`));
    for (
      const op of ["reader:read", "reader:put", "writer:get", "writer:write"]
    ) {
      assert.ok(ops.has(op), `missing ${op}`);
    }
    for (const record of records) {
      assert.equal(record.msg, "upload.trace");
      assert.equal(record.id, result.id);
      assert.equal(typeof record.ms, "number");
    }

    const quiet: string[] = [];
    await receiveUpload(source(makeChunks(3, KiB)).stream, {
      begin: into(dir),
      maxBytes: 10 * KiB,
      logger: createLogger({ level: "info", write: (l) => quiet.push(l) }),
    });
    assert.deepEqual(quiet, []);
  });
});

Deno.test("receiveUpload: bad options throw without touching the body", async () => {
  const body = source([]).stream;
  const bad: Array<[Record<string, unknown>, ErrorConstructor]> = [
    [{ maxBytes: -1 }, RangeError],
    [{ maxBytes: 1.5 }, RangeError],
    [{ queueBytes: 0 }, RangeError],
    [{ writeBytes: 0 }, RangeError],
    [{ idleTimeoutMs: 0 }, RangeError],
    [{ idleTimeoutMs: 2 ** 31 }, RangeError],
    [{ expectedLength: -1 }, RangeError],
    [{ expectedSha256: new Uint8Array(31) }, RangeError],
    [{ expectedSha256: "abc" }, TypeError],
    [{ begin: undefined }, TypeError],
    [{ begin: "/nonexistent" }, TypeError],
  ];
  for (const [override, ErrorClass] of bad) {
    const options = { begin: into("/nonexistent"), maxBytes: 10, ...override };
    await assert.rejects(
      receiveUpload(body, options as Parameters<typeof receiveUpload>[1]),
      ErrorClass,
      JSON.stringify(override),
    );
  }
  assert.equal(body.locked, false);
});

Deno.test("isValidId accepts only 32 lowercase hex characters", () => {
  assert.equal(isValidId("0123456789abcdef0123456789abcdef"), true);
  for (
    const id of [
      "0123456789ABCDEF0123456789ABCDEF",
      "0123456789abcdef0123456789abcde",
      "0123456789abcdef0123456789abcdef0",
      "../../etc/passwd",
      "0123456789abcdef0123456789abcde\n",
      "",
      42,
      undefined,
    ]
  ) {
    assert.equal(isValidId(id), false, String(id));
  }
});

Deno.test("classifyBound compares reader blocked time with writer idle time", () => {
  const writer = { writerWriteMs: 8, writerHashWaitMs: 1 };
  const bound = (readerBlockedMs: number, writerIdleMs: number) =>
    classifyBound({ readerBlockedMs, writerIdleMs, ...writer });
  assert.equal(bound(10, 2), "write");
  assert.equal(bound(2, 10), "read");
  assert.equal(bound(0, 0), "read");
});

Deno.test("classifyBound: the writer's side is the hash when it waited on it longer than it wrote", () => {
  const times = { readerBlockedMs: 10, writerIdleMs: 2 };
  assert.equal(
    classifyBound({ ...times, writerWriteMs: 3, writerHashWaitMs: 7 }),
    "hash",
  );
  assert.equal(
    classifyBound({ ...times, writerWriteMs: 7, writerHashWaitMs: 3 }),
    "write",
  );
  // Read-bound whatever the writer did while it had work.
  assert.equal(
    classifyBound({
      readerBlockedMs: 2,
      writerIdleMs: 10,
      writerWriteMs: 1,
      writerHashWaitMs: 9,
    }),
    "read",
  );
});
