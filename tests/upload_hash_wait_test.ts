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
import { until } from "./fixtures/until.ts";
import {
  assertStored,
  concat,
  into,
  KiB,
  makeChunks,
  sha256,
  source,
} from "./fixtures/pipeline_sources.ts";

/** What {@linkcode laggingHash} saw: each wait's length, and the live figures. */
interface LagLog {
  /** How long each `room()` took, as the hash itself timed it. */
  waits: number[];
  /** The live figures, read as each wait ended, and the wait so far then. */
  live: { figures: LiveFigures; waitedMs: number }[];
}

/**
 * The SHA-256 on the calling thread, whose `room()` lags: it resolves no
 * sooner than `ms`, and not before the writer has waited on the hash longer
 * than it wrote (read from the live figures), so the hash is the bound by
 * construction rather than by how fast the disk was at the time.
 */
function laggingHash(
  ms: number,
  figures: () => (() => LiveFigures) | undefined,
  log: LagLog,
): HashFactory {
  return (release) => {
    const hash = inlineHash(release);
    const room = async () => {
      const started = performance.now();
      await delay(ms);
      const read = figures();
      if (read === undefined) throw new Error("no live figures yet");
      await until(() => {
        const { writerHashWaitMs, writerWriteMs } = read();
        return writerHashWaitMs > writerWriteMs;
      }, "the writer waiting on the hash longer than it wrote");
      const waitedMs = performance.now() - started;
      log.live.push({ figures: read(), waitedMs });
      log.waits.push(performance.now() - started);
    };
    return { ...hash, room };
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
// The figures are rounded to the microsecond.
const ROUNDING_MS = 0.001;

Deno.test("receiveUpload: the writer's wait on the hash is counted, live and in the result, and named as the bound", async () => {
  await withDir(async (dir) => {
    const chunks = makeChunks(128, 4 * KiB);
    const data = concat(chunks);
    let figures: (() => LiveFigures) | undefined;
    const log: LagLog = { waits: [], live: [] };
    const result = await receiveUpload(source(chunks).stream, {
      begin: into(dir),
      maxBytes: 1024 * KiB,
      queueBytes: 32 * KiB,
      writeBytes: 16 * KiB,
      expectedSha256: sha256(data),
      hash: laggingHash(10, () => figures, log),
      observe: (read) => figures = read,
    });
    await assertStored(dir, result.id, data);
    // Every wait on the hash is in the writer's figure: it times each from
    // before room() was asked to after it resolved, so it holds at least
    // what the hash itself timed (before, it held none of it).
    assert.ok(log.waits.length > 0);
    assert.ok(
      result.writerHashWaitMs >= sum(log.waits) - ROUNDING_MS,
      `writerHashWaitMs ${result.writerHashWaitMs} < ${sum(log.waits)}`,
    );
    // Nothing counted twice: the writer's three times fit in the upload.
    const writer = result.writerWriteMs + result.writerIdleMs +
      result.writerHashWaitMs;
    assert.ok(
      writer <= result.durationMs + 3 * ROUNDING_MS,
      `writer ${writer} of ${result.durationMs} ms`,
    );
    assert.ok(result.writerHashWaitMs > result.writerWriteMs);
    assert.equal(result.bound, "hash");
    // Live: read while a wait was under way, the figure already counted
    // the earlier waits and this one so far, and never ran past the result.
    let before = 0;
    for (const [i, { figures: live, waitedMs }] of log.live.entries()) {
      assert.ok(
        live.writerHashWaitMs >= before + waitedMs - ROUNDING_MS,
        `live ${live.writerHashWaitMs} < ${before} + ${waitedMs}`,
      );
      assert.ok(live.writerHashWaitMs <= result.writerHashWaitMs + ROUNDING_MS);
      before += log.waits[i]!;
    }
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
