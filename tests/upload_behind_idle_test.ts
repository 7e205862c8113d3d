/**
 * An upload whose body came as tiny frames that held the event loop (so
 * the frame floor counts it behind, services/http/frame_floor.ts) and then
 * stalls: the idle timeout must still end it. The pipeline once left the
 * body's cancel out while the reader was behind; it now cancels at once
 * (a request's body lets the runtime's go after the linger,
 * services/http/answered_body.ts), and a reader whose read waits on a
 * stalled client is settled only by that cancel.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UploadIdleTimeoutError } from "../services/uploads/errors.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { DEFAULT_MAX_HOLD_MS } from "../services/http/loop_turns.ts";
import { listDir, withTempDir as withDir } from "./fixtures/temp_dir.ts";
import { into, makeChunks, source } from "./fixtures/pipeline_sources.ts";

Deno.test("receiveUpload: a body stalled after tiny frames that held the loop still times out idle", async () => {
  await withDir(async (dir) => {
    // Two 100-byte frames read with no turn of the loop between them (the
    // second holds the thread past the loop turns' limit), then nothing: a
    // burst of tiny frames from a client that went quiet, connection open.
    const body = source(makeChunks(2, 100), {
      hang: true,
      holdMs: DEFAULT_MAX_HOLD_MS * 2,
    });
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
