/**
 * An upload sent as curl sends a pipe (`cat f | curl -T -`): chunked
 * frames of 65524 and 61452 bytes, each followed by a 12-byte one (the
 * sizes captured on the wire; a third of its frames are 12 bytes). Sent
 * from a raw socket while the service is paused twice (SIGSTOP, as a busy
 * machine pauses it), so frames pile up ahead of the reader: the upload is
 * stored whole, never refused by the frame floor
 * (services/http/frame_floor.ts), and the service keeps answering.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnUploadService } from "./fixtures/spawn.ts";
import { answerOf, pauseAndProbe } from "./fixtures/tiny_frames.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

/** curl's frames from a pipe, in the order it sends them. */
const PIPE_FRAMES = [65524, 12, 61452, 12];
const BODY_BYTES = 40_000_000;

const encoder = new TextEncoder();

/** The pipe's frames of `BODY_BYTES` in all, as one chunked body. */
function pipeBody(): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let sent = 0, i = 0; sent < BODY_BYTES; i++) {
    const size = Math.min(
      PIPE_FRAMES[i % PIPE_FRAMES.length]!,
      BODY_BYTES - sent,
    );
    parts.push(encoder.encode(`${size.toString(16)}\r\n`));
    parts.push(new Uint8Array(size).fill(0x62));
    parts.push(encoder.encode("\r\n"));
    sent += size;
  }
  parts.push(encoder.encode("0\r\n\r\n"));
  return parts;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let n = 0; n < bytes.byteLength;) {
    n += await conn.write(bytes.subarray(n));
  }
}

Deno.test("An upload in a pipe's frames (curl -T -), the service paused while they pile up, is stored whole", async () => {
  await using tempDataDir = await tempDir({ prefix: "pipe_frames-" });
  await using service = await spawnUploadService(tempDataDir.path);
  const { port } = new URL(service.url);
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: +port });
  const sent = { bytes: 0 };
  const sending = (async () => {
    await writeAll(
      conn,
      encoder.encode(
        "POST /files HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
      ),
    );
    for (const part of pipeBody()) {
      await writeAll(conn, part);
      sent.bytes += part.byteLength;
    }
  })();
  const answer = answerOf(conn);
  const statuses: number[] = [];
  // Two pauses while the body is on its way: the runtime reads ahead of
  // the reader, which then finds the pipe's frames held back to back.
  for (const mark of [8_000_000, 20_000_000]) {
    while (sent.bytes < mark) {
      await Promise.race([sending, new Promise((r) => setTimeout(r, 10))]);
    }
    await pauseAndProbe(service, statuses);
  }
  await sending;
  const text = await answer;
  assert.match(text, /^HTTP\/1\.1 201 Created/, text.slice(0, 300));
  assert.match(text, new RegExp(`"size":${BODY_BYTES}`));
  assert.deepEqual(statuses, statuses.map(() => 200));
});
