/**
 * Tests of the upload pipeline's failures without HTTP (the bodies and
 * sinks of `fixtures/pipeline_sources.ts`): a body too large, idle, broken,
 * shorter or longer than declared, a digest mismatch, an abort, a full
 * disk; each fails as it should and keeps nothing.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { MIN_FRAME_BYTES } from "../services/http/frame_floor.ts";
import {
  DigestMismatchError,
  NoSpaceError,
  UploadError,
  UploadIdleTimeoutError,
  UploadIncompleteError,
  UploadTooLargeError,
} from "../services/uploads/errors.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { listDir, withTempDir as withDir } from "./fixtures/temp_dir.ts";
import {
  concat,
  into,
  KiB,
  makeChunks,
  sha256,
  source,
} from "./fixtures/pipeline_sources.ts";

Deno.test("receiveUpload: too large fails as soon as the limit is crossed", async () => {
  await withDir(async (dir) => {
    // Frames of the floor's size, with the thread held between reads as a
    // loaded machine holds it: 1 KiB frames read so (CI, load 30) were
    // taken for a body the runtime holds many tiny frames of
    // (then FrameFloor.behind), whose cancel the pipeline left out.
    const body = source(makeChunks(20, MIN_FRAME_BYTES), { holdMs: 20 });
    await assert.rejects(
      receiveUpload(body.stream, {
        begin: into(dir),
        maxBytes: 10 * MIN_FRAME_BYTES,
      }),
      (error) =>
        error instanceof UploadTooLargeError && error instanceof UploadError &&
        error.name === "UploadTooLargeError" &&
        error.maxBytes === 10 * MIN_FRAME_BYTES,
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
    // The reader took the chunks and waits on the hanging read.
    await body.hanging;
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
