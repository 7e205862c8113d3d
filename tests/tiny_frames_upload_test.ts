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

import assert from "node:assert/strict";
import { spawnUploadService } from "./fixtures/spawn.ts";

const FRAME_BYTES = 100;
const FRAMES_PER_WRITE = 10_000;
const TOTAL_BYTES = 80_000_000;

/** 100-byte chunked frames until `TOTAL_BYTES` or an error; counts `sent.bytes`. */
async function sendTinyFrames(
  conn: Deno.Conn,
  sent: { bytes: number },
): Promise<void> {
  const encoder = new TextEncoder();
  const frame = encoder.encode(
    `${FRAME_BYTES.toString(16)}\r\n${"a".repeat(FRAME_BYTES)}\r\n`,
  );
  const batch = new Uint8Array(frame.byteLength * FRAMES_PER_WRITE);
  for (let i = 0; i < FRAMES_PER_WRITE; i++) {
    batch.set(frame, i * frame.byteLength);
  }
  try {
    await conn.write(encoder.encode(
      "POST /files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
        "Content-Type: application/octet-stream\r\n\r\n",
    ));
    while (sent.bytes < TOTAL_BYTES) {
      for (let n = 0; n < batch.byteLength;) {
        n += await conn.write(batch.subarray(n));
      }
      sent.bytes += FRAME_BYTES * FRAMES_PER_WRITE;
    }
    await conn.write(encoder.encode("0\r\n\r\n"));
  } catch {
    // The service answered early (400) and closed the connection.
  }
}

/** The status line and body of the answer on `conn`. */
async function answerOf(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  const until = AbortSignal.timeout(120_000);
  while (!until.aborted) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
    const [head, body] = text.split("\r\n\r\n");
    if (body !== undefined && body.includes("}")) return `${head}\n${body}`;
  }
  return text;
}

/** `/healthz`'s status, or 0 when it has no answer within 2 s. */
async function healthzWithin2s(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("A body of 100-byte frames arriving faster than it is read leaves the service answering, gets an answer, and SIGTERM still stops the service", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tiny_frames-" });
  try {
    await using service = await spawnUploadService(dataDir);
    const { port } = new URL(service.url);
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: +port });
    const sent = { bytes: 0 };
    const sending = sendTinyFrames(conn, sent);
    const answer = answerOf(conn);
    let answered = false;
    answer.then(() => answered = true);
    // The runtime reads the socket ahead of the reader: a pause lets
    // megabytes of frames pile up in front of it (three pauses, or until
    // the upload is answered: one does not always do it).
    const statuses = [];
    for (let round = 0; round < 3 && !answered; round++) {
      while (sent.bytes < (round + 1) * 4_000_000 && !answered) await sleep(10);
      service.kill("SIGSTOP");
      await sleep(1000);
      service.kill("SIGCONT");
      for (let i = 0; i < 2; i++) {
        await sleep(300);
        statuses.push(await healthzWithin2s(service.url));
      }
    }
    assert.deepEqual(statuses, statuses.map(() => 200));
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 (201 Created|400 Bad Request)/);
    if (text.startsWith("HTTP/1.1 400")) assert.match(text, /Chunks too small/);
    await sending;
    service.kill("SIGTERM");
    await service.waitForLine((r) => r.msg === "shutdown.end", {
      timeoutMs: 15_000,
    });
    assert.equal((await service.status).code, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
