/**
 * An upload whose body came as tiny frames that held the event loop (so
 * the frame floor counts it behind, services/http/frame_floor.ts) and then
 * stalls: the idle timeout must still end it. The pipeline leaves the
 * body's cancel out while the reader is behind, for a reader that has no
 * read pending; a reader whose read waits on a stalled client is settled
 * only by that cancel.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UploadIdleTimeoutError } from "../services/uploads/errors.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { DEFAULT_MAX_HOLD_MS } from "../services/http/loop_turns.ts";
import { listDir, withTempDir as withDir } from "./fixtures/temp_dir.ts";
import { into } from "./fixtures/pipeline_sources.ts";

/** Holds the thread for `ms`, as a runtime going through held frames does. */
function holdThread(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* no turn of the loop */ }
}

/**
 * Two 100-byte frames read with no turn of the loop between them (the
 * second read holds the thread past the loop turns' limit), then nothing:
 * a client that sent a burst of tiny frames and went quiet, connection
 * open. Its pending read settles only when the stream is cancelled.
 */
function tinyBurstThenStall() {
  let sent = 0;
  let cancelled = false;
  let wake: (() => void) | undefined;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 2) return new Promise<void>((resolve) => wake = resolve);
      if (sent === 1) holdThread(DEFAULT_MAX_HOLD_MS * 2);
      sent++;
      controller.enqueue(new Uint8Array(100).fill(sent));
    },
    cancel() {
      cancelled = true;
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

Deno.test("receiveUpload: a body stalled after tiny frames that held the loop still times out idle", async () => {
  await withDir(async (dir) => {
    const body = tinyBurstThenStall();
    await assert.rejects(
      receiveUpload(body.stream, {
        begin: into(dir),
        maxBytes: 1024,
        idleTimeoutMs: 100,
      }),
      UploadIdleTimeoutError,
    );
    assert.equal(body.cancelled, true);
    assert.deepEqual(await listDir(dir), []);
  });
});
