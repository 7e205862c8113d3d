/**
 * The writer's wait on the hash (`hash.room()`, the SHA-256 worker a few
 * MiB behind) is counted and reported: in the result as
 * `writerHashWaitMs`, in the live figures while it lasts, and in the
 * verdict (`hash` when the writer waited on it longer than it wrote).
 * Before, that wait was in neither `writerWriteMs` nor `writerIdleMs`: an
 * upload the hash held back showed a writer that seemed to do nothing and
 * was called write-bound. The lagging hash is the real `inlineHash` whose
 * `room()` waits, as `slowSink` is a real disk whose writes wait.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import {
  type HashFactory,
  inlineHash,
} from "../services/uploads/content_hash.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import type { LiveFigures } from "../services/uploads/upload_figures.ts";
import { withTempDir as withDir } from "./fixtures/temp_dir.ts";
import {
  assertStored,
  concat,
  into,
  KiB,
  makeChunks,
  sha256,
  source,
} from "./fixtures/pipeline_sources.ts";

/** The SHA-256 on the calling thread, with room only after `ms`: a hash that lags. */
function laggingHash(ms: number): HashFactory {
  return (release) => {
    const hash = inlineHash(release);
    return { ...hash, room: () => delay(ms) };
  };
}

Deno.test("receiveUpload: the writer's wait on the hash is counted, live and in the result, and named as the bound", async () => {
  await withDir(async (dir) => {
    const chunks = makeChunks(128, 4 * KiB);
    const data = concat(chunks);
    let figures: (() => LiveFigures) | undefined;
    const seen: LiveFigures[] = [];
    const timer = setInterval(() => figures && seen.push(figures()), 20);
    const result = await receiveUpload(source(chunks).stream, {
      begin: into(dir),
      maxBytes: 1024 * KiB,
      queueBytes: 32 * KiB,
      writeBytes: 16 * KiB,
      expectedSha256: sha256(data),
      hash: laggingHash(10),
      observe: (read) => figures = read,
    }).finally(() => clearInterval(timer));
    await assertStored(dir, result.id, data);
    // 32 buffers of 16 KiB, each followed by a wait of 10 ms on the hash.
    assert.ok(
      result.writerHashWaitMs >= 250,
      `writerHashWaitMs ${result.writerHashWaitMs}`,
    );
    assert.ok(result.writerHashWaitMs > result.writerWriteMs);
    assert.equal(result.bound, "hash");
    // The writer's three times account for its whole run, not a fraction.
    const writer = result.writerWriteMs + result.writerIdleMs +
      result.writerHashWaitMs;
    assert.ok(
      writer >= 0.7 * result.durationMs,
      `writer ${writer} of ${result.durationMs} ms`,
    );
    // Live: the wait grows while the upload runs, and the live verdict agrees.
    const last = seen.at(-1);
    assert.ok(last !== undefined && last.writerHashWaitMs > 0);
    assert.ok(last.writerHashWaitMs <= result.writerHashWaitMs + 1);
  });
});

Deno.test("receiveUpload: a hash that keeps up leaves the verdict to the disk", async () => {
  await withDir(async (dir) => {
    const chunks = makeChunks(64, 4 * KiB);
    const data = concat(chunks);
    const result = await receiveUpload(source(chunks).stream, {
      begin: into(dir, (write) => async (chunk) => {
        await delay(10);
        await write(chunk);
      }),
      maxBytes: 1024 * KiB,
      queueBytes: 32 * KiB,
      writeBytes: 16 * KiB,
      hash: inlineHash,
    });
    await assertStored(dir, result.id, data);
    assert.equal(result.bound, "write");
    assert.ok(result.writerHashWaitMs < result.writerWriteMs);
  });
});
