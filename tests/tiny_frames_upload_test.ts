/**
 * An upload sent as 100-byte chunked frames faster than the service reads
 * them (a raw socket client; the service paused for a second, as a GC
 * pause or a busy machine does, so the runtime has megabytes of frames
 * held ahead of the reader): the service still answers other requests
 * while it runs, the upload gets an answer (201, or 400 "Chunks too
 * small" once the frames held the reader back for a second), and SIGTERM
 * still shuts the service down. On main /healthz got no answer for
 * minutes: each read of a held frame resolved without a turn of the
 * event loop.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { spawnUploadService } from "./fixtures/spawn.ts";
import {
  answerOf,
  pauseAndProbe,
  sendTinyFrames,
} from "./fixtures/tiny_frames.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

Deno.test("A body of 100-byte frames arriving faster than it is read leaves the service answering, gets an answer, and SIGTERM still stops the service", async () => {
  await using tempDataDir = await tempDir({ prefix: "tiny_frames-" });
  const dataDir = tempDataDir.path;
  await using service = await spawnUploadService(dataDir);
  const { port } = new URL(service.url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: +port });
  const sent = { bytes: 0 };
  // The filler stops once the answer came: the connection lingers ~25 s
  // after it (tiny_frames_bodies_test.ts), which the test used to wait out
  // sending, before SIGTERM.
  const answered = new AbortController();
  const sending = sendTinyFrames(conn, {
    head: "POST /files HTTP/1.1\r\nContent-Type: application/octet-stream",
    signal: answered.signal,
  }, sent);
  try {
    const answer = answerOf(conn);
    answer.then(() => answered.abort());
    // The runtime reads the socket ahead of the reader: a pause lets
    // megabytes of frames pile up in front of it (three pauses, or until
    // the upload is answered: one does not always do it).
    const statuses: number[] = [];
    for (let round = 0; round < 3 && !answered.signal.aborted; round++) {
      while (
        sent.bytes < (round + 1) * 4_000_000 && !answered.signal.aborted
      ) await sleep(10);
      await pauseAndProbe(service, statuses);
    }
    assert.deepEqual(statuses, statuses.map(() => 200));
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 (201 Created|400 Bad Request)/);
    if (text.startsWith("HTTP/1.1 400")) {
      assert.match(text, /Chunks too small/);
    }
    service.kill("SIGTERM");
    await service.waitForLine((r) => r.msg === "shutdown.end", {
      timeoutMs: 15_000,
    });
    assert.equal((await service.status).code, 0);
  } finally {
    // Closing the connection ends a send the service no longer reads.
    conn.close();
    await sending;
  }
});
