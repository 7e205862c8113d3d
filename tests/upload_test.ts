/**
 * Tests of the upload pipeline without HTTP: sources are hand-made
 * ReadableStreams and a slow disk is a local-disk upload whose writes wait.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createLogger } from "../services/ops/logger.ts";
import {
  DigestMismatchError,
  NoSpaceError,
  UploadError,
  UploadIdleTimeoutError,
  UploadIncompleteError,
  UploadTooLargeError,
} from "../services/uploads/errors.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { classifyBound } from "../services/uploads/upload_figures.ts";
import type { UploadSink } from "../services/uploads/sink.ts";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { isValidId } from "../services/storage/metadata.ts";
import { listDir, withTempDir as withDir } from "./fixtures/temp_dir.ts";

const KiB = 1024;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `count` chunks of `size` bytes with varied content. */
function makeChunks(count: number, size: number): Uint8Array[] {
  return Array.from(
    { length: count },
    (_, i) => new Uint8Array(size).map((_, j) => (i * 31 + j) & 0xff),
  );
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

interface TestSource {
  stream: ReadableStream<Uint8Array>;
  /** Set once the pipeline cancels the stream. */
  readonly cancelled: boolean;
}

/**
 * A body that yields `chunks`, each after `delayMs`; then ends, errors with
 * `error`, or (with `hang`) never ends. Cancel clears any pending timer.
 */
function source(
  chunks: Uint8Array[],
  options: { delayMs?: number; error?: Error; hang?: boolean } = {},
): TestSource {
  const { delayMs = 0, error, hang = false } = options;
  let index = 0;
  let cancelled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index >= chunks.length) {
        if (error) return controller.error(error);
        if (!hang) return controller.close();
        // Hang until cancelled: no timer, so nothing to leak.
        return new Promise<void>((resolve) => wake = resolve);
      }
      if (delayMs > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, delayMs);
        });
        if (cancelled) return;
      }
      controller.enqueue(chunks[index++]!);
    },
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      wake?.();
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get cancelled() {
      return cancelled;
    },
  };
}

/**
 * A byte stream (as a request body is) that yields `data` in chunks of
 * `chunkSize`, straight into the reader's view when it reads with BYOB;
 * `byobReads` counts those.
 */
function byteSource(data: Uint8Array, chunkSize: number) {
  let offset = 0;
  let byobReads = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= data.byteLength) {
        controller.close();
        // A pending BYOB read settles with done only once responded to.
        controller.byobRequest?.respond(0);
        return;
      }
      const n = Math.min(chunkSize, data.byteLength - offset);
      const request = controller.byobRequest;
      if (request?.view) {
        const view = request.view as Uint8Array;
        const m = Math.min(n, view.byteLength);
        view.set(data.subarray(offset, offset + m));
        offset += m;
        byobReads++;
        request.respond(m);
      } else {
        controller.enqueue(data.slice(offset, offset + n));
        offset += n;
      }
    },
  });
  return {
    stream,
    get byobReads() {
      return byobReads;
    },
  };
}

type Write = (chunk: Uint8Array) => Promise<void>;

/**
 * Opens uploads into `dir` as the routes do (a local-disk storage's
 * `begin`), with the writes passed through `wrap` when given: a slow disk,
 * a full one, a recorder.
 */
function into(
  dir: string,
  wrap?: (write: Write) => Write,
): () => Promise<UploadSink> {
  const storage = new LocalDiskStorage({ dir });
  return async () => {
    const upload = await storage.begin();
    if (!wrap) return upload;
    return {
      id: upload.id,
      write: wrap((chunk) => upload.write(chunk)),
      commit: (content) => upload.commit(content),
      abort: () => upload.abort(),
    };
  };
}

/** Writes that wait `ms` first: a slow disk. */
function slowSink(ms: number): (write: Write) => Write {
  return (write) => async (p) => {
    await delay(ms);
    await write(p);
  };
}

async function assertStored(
  dir: string,
  id: string,
  expected: Uint8Array,
): Promise<void> {
  assert.deepEqual(await listDir(dir), [id, `${id}.json`]);
  assert.deepEqual(await Deno.readFile(join(dir, id)), expected);
  const meta = JSON.parse(await Deno.readTextFile(join(dir, `${id}.json`)));
  assert.equal(meta.id, id);
  assert.equal(meta.size, expected.byteLength);
  assert.equal(meta.sha256, sha256(expected).toString("hex"));
  assert.ok(!Number.isNaN(Date.parse(meta.created)));
}

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

Deno.test("receiveUpload: too large fails as soon as the limit is crossed", async () => {
  await withDir(async (dir) => {
    const body = source(makeChunks(20, 1 * KiB));
    await assert.rejects(
      receiveUpload(body.stream, { begin: into(dir), maxBytes: 10 * KiB }),
      (error) =>
        error instanceof UploadTooLargeError && error instanceof UploadError &&
        error.name === "UploadTooLargeError" && error.maxBytes === 10 * KiB,
    );
    assert.equal(body.cancelled, true);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: a declared length over the limit fails before reading", async () => {
  await withDir(async (dir) => {
    const body = source(makeChunks(1, 10));
    await assert.rejects(
      receiveUpload(body.stream, {
        begin: into(dir),
        maxBytes: 5,
        expectedLength: 10,
      }),
      UploadTooLargeError,
    );
    assert.equal(body.cancelled, true);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: idle body times out and leaves nothing", async () => {
  await withDir(async (dir) => {
    const body = source(makeChunks(2, 100), { hang: true });
    await assert.rejects(
      receiveUpload(body.stream, {
        begin: into(dir),
        maxBytes: KiB,
        idleTimeoutMs: 50,
      }),
      (error) =>
        error instanceof UploadIdleTimeoutError && error.idleTimeoutMs === 50,
    );
    assert.equal(body.cancelled, true);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: a source error mid-stream leaves nothing", async () => {
  await withDir(async (dir) => {
    const boom = new Error("connection reset");
    const body = source(makeChunks(3, KiB), { error: boom });
    await assert.rejects(
      receiveUpload(body.stream, { begin: into(dir), maxBytes: 10 * KiB }),
      (error) => error === boom,
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: a digest mismatch keeps nothing", async () => {
  await withDir(async (dir) => {
    const chunks = makeChunks(4, KiB);
    await assert.rejects(
      receiveUpload(source(chunks).stream, {
        begin: into(dir),
        maxBytes: 10 * KiB,
        expectedSha256: new Uint8Array(32),
      }),
      (error) =>
        error instanceof DigestMismatchError &&
        error.actual === sha256(concat(chunks)).toString("hex") &&
        error.expected === "0".repeat(64),
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: an external abort rejects with its reason", async () => {
  await withDir(async (dir) => {
    const controller = new AbortController();
    const body = source(makeChunks(3, KiB), { hang: true });
    const upload = receiveUpload(body.stream, {
      begin: into(dir),
      maxBytes: 10 * KiB,
      signal: controller.signal,
    });
    // Let the reader take the chunks and reach the hanging read.
    await delay(20);
    const reason = new Error("client went away");
    controller.abort(reason);
    await assert.rejects(upload, (error) => error === reason);
    assert.equal(body.cancelled, true);
    assert.deepEqual(await listDir(dir), []);

    const early = source(makeChunks(1, 1));
    await assert.rejects(
      receiveUpload(early.stream, {
        begin: into(dir),
        maxBytes: 10,
        signal: AbortSignal.abort("before"),
      }),
      (error) => error === "before",
    );
    assert.equal(early.cancelled, true);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: an abort while blocked on a slow disk stops at once", async () => {
  await withDir(async (dir) => {
    const controller = new AbortController();
    let writes = 0;
    const upload = receiveUpload(source(makeChunks(64, 4 * KiB)).stream, {
      begin: into(dir, (write) => async (p) => {
        if (++writes === 2) controller.abort("stop");
        await delay(5);
        await write(p);
      }),
      maxBytes: 1024 * KiB,
      queueBytes: 8 * KiB,
      writeBytes: 4 * KiB,
      signal: controller.signal,
    });
    await assert.rejects(upload, (error) => error === "stop");
    // The write in progress finishes; no further write starts.
    assert.equal(writes, 2);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: a body shorter or longer than declared fails", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      receiveUpload(source(makeChunks(2, 100)).stream, {
        begin: into(dir),
        maxBytes: KiB,
        expectedLength: 300,
      }),
      (error) =>
        error instanceof UploadIncompleteError && error.expected === 300 &&
        error.received === 200,
    );
    await assert.rejects(
      receiveUpload(source(makeChunks(4, 100)).stream, {
        begin: into(dir),
        maxBytes: KiB,
        expectedLength: 300,
      }),
      (error) => error instanceof UploadIncompleteError && error.received > 300,
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test({
  name: "receiveUpload: a full disk becomes NoSpaceError",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withDir(async (dir) => {
      const full = await Deno.open("/dev/full", { write: true });
      try {
        await assert.rejects(
          receiveUpload(source(makeChunks(2, KiB)).stream, {
            begin: into(dir, () => async (p) => {
              let written = 0;
              while (written < p.byteLength) {
                written += await full.write(p.subarray(written));
              }
            }),
            maxBytes: 10 * KiB,
          }),
          (error) =>
            error instanceof NoSpaceError &&
            (error.cause as { code?: string }).code === "ENOSPC",
        );
      } finally {
        full.close();
      }
      assert.deepEqual(await listDir(dir), []);
    });
  },
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
  assert.equal(
    classifyBound({ readerBlockedMs: 10, writerIdleMs: 2 }),
    "write",
  );
  assert.equal(classifyBound({ readerBlockedMs: 2, writerIdleMs: 10 }), "read");
  assert.equal(classifyBound({ readerBlockedMs: 0, writerIdleMs: 0 }), "read");
});
