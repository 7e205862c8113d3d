/**
 * A body that is ahead of the upload's reader moves it to full-size
 * buffers even when each read waits for a core. On a loaded machine (load
 * 19-25, `stress-ng --cpu 8` beside other suites) a 128 MiB upload sent
 * on loopback never came "a MiB within 32 ms of waiting" (the wait counts
 * the time the process waits to run), so the reader stayed on 16-64 KiB
 * reads at 0.3 MB/s for 400 s while the runtime kept the rest of the body
 * in its own memory: the service's RSS +100 MiB against the queue + 32 MiB
 * of README (`tests/chunked_upload_memory_test.ts` failed at 98.9-115.6
 * MiB). Every one of those reads filled its view: the runtime held the
 * bytes before they were asked for. Here each read of a byte stream fills
 * its view after a few ms, as such a body's reads do on a busy machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "../services/ops/logger.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import {
  assertStored,
  concat,
  into,
  KiB,
  makeChunks,
} from "./fixtures/pipeline_sources.ts";

const MiB = 1024 * KiB;
// 16 KiB reads at 4 ms each: a MiB takes 256 ms of waiting, far past 32.
const READ_WAIT_MS = 4;

/** A byte stream of `data` whose every read fills its view after a wait. */
function aheadButSlow(data: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      await sleep(READ_WAIT_MS);
      const request = controller.byobRequest!;
      if (offset >= data.byteLength) {
        controller.close();
        request.respond(0);
        return;
      }
      const view = request.view as Uint8Array;
      const n = Math.min(view.byteLength, data.byteLength - offset);
      view.set(data.subarray(offset, offset + n));
      offset += n;
      request.respond(n);
    },
  });
}

Deno.test("receiveUpload: a body whose reads fill their views moves to full-size buffers, however long each read waits", async () => {
  await withTempDir(async (dir) => {
    const data = concat(makeChunks(4, MiB));
    const reads: number[] = [];
    const logger = createLogger({
      level: "debug",
      write: (line) => {
        const record = JSON.parse(line);
        if (record.msg === "upload.trace" && record.op === "read") {
          reads.push(record.bytes);
        }
      },
    });
    const result = await receiveUpload(aheadButSlow(data), {
      begin: into(dir),
      maxBytes: 8 * MiB,
      writeBytes: MiB,
      expectedLength: data.byteLength,
      logger,
    });
    await assertStored(dir, result.id, data);
    // Small buffers read at most 64 KiB; full-size ones up to 256 KiB.
    const largest = Math.max(...reads);
    assert.ok(
      largest > 64 * KiB,
      `${reads.length} reads, the largest ${largest} bytes`,
    );
  });
});
