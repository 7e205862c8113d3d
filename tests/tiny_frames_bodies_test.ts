/**
 * Request bodies of 100-byte chunked frames, arriving faster than they are
 * read, that the upload's reader never sees frame by frame: a gzip body's
 * padding (decoded to nothing), a form's preamble (skipped by the parser)
 * and a JSON write's gzip padding. The service keeps answering `/healthz`
 * while they arrive (and while it is paused, as tiny_frames_upload_test.ts
 * does), answers the request, and SIGTERM stops it. On main the decoder's
 * and the form parser's read loops never let the event loop turn:
 * `/healthz` went unanswered for 5 s and more until the upload's own
 * timers ended it (408 after 15-50 s).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type SpawnedService, spawnUploadService } from "./fixtures/spawn.ts";
import {
  answerOf,
  healthzWithin2s,
  pauseAndProbe,
  sendTinyFrames,
  type TinyFramesRequest,
} from "./fixtures/tiny_frames.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

const encoder = new TextEncoder();
const tooSmall = /^HTTP\/1\.1 400 Bad Request[^]*Chunks too small/;

/** Probes `/healthz` until `answered()`, pausing at 4, 8 and 12 MB sent. */
async function probeWhileSending(
  service: SpawnedService,
  sent: { bytes: number },
  answered: AbortSignal,
): Promise<number[]> {
  const statuses: number[] = [];
  let round = 0;
  while (!answered.aborted) {
    if (round < 3 && sent.bytes >= (round + 1) * 4_000_000) {
      round++;
      await pauseAndProbe(service, statuses);
      continue;
    }
    statuses.push(await healthzWithin2s(service.url));
    if (statuses.at(-1) !== 200) break;
    await sleep(200);
  }
  return statuses;
}

/**
 * Sends `request` to a fresh service as tiny frames; checks that it stays
 * answering, that the answer matches one of `answers`, and that SIGTERM
 * stops it.
 */
async function checkTinyFrames(
  request: TinyFramesRequest,
  answers: RegExp[],
): Promise<void> {
  await using tempDataDir = await tempDir({ prefix: "tiny_frames_bodies-" });
  const dataDir = tempDataDir.path;
  await using service = await spawnUploadService(dataDir);
  const { port } = new URL(service.url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: +port });
  const sent = { bytes: 0 };
  const answered = new AbortController();
  const sending = sendTinyFrames(conn, {
    ...request,
    signal: answered.signal,
  }, sent);
  try {
    const answer = answerOf(conn);
    answer.then(() => answered.abort());
    const statuses = await probeWhileSending(service, sent, answered.signal);
    assert.deepEqual(statuses, statuses.map(() => 200));
    const text = await answer;
    assert.ok(answers.some((a) => a.test(text)), text);
    service.kill("SIGTERM");
    await service.waitForLine((r) => r.msg === "shutdown.end", {
      timeoutMs: 15_000,
    });
    assert.equal((await service.status).code, 0);
  } finally {
    // The connection lingered ~25 s after the answer (the service
    // answering meanwhile): closing it ends the send.
    conn.close();
    await sending;
  }
}

Deno.test("A gzip upload whose padding comes as tiny frames leaves the service answering", async () => {
  await checkTinyFrames({
    head: "POST /files HTTP/1.1\r\nContent-Type: application/octet-stream\r\n" +
      "Content-Encoding: gzip",
    prefix: gzipSync(encoder.encode("hello")),
    filler: 0,
  }, [/^HTTP\/1\.1 201 Created/, tooSmall]);
});

Deno.test("A form whose preamble comes as tiny frames leaves the service answering", async () => {
  await checkTinyFrames({
    head: "POST /files HTTP/1.1\r\n" +
      "Content-Type: multipart/form-data; boundary=BOUNDARY",
    suffix: encoder.encode(
      "\r\n--BOUNDARY\r\n" +
        'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n' +
        "\r\nhello\r\n--BOUNDARY--\r\n",
    ),
  }, [/^HTTP\/1\.1 201 Created/, tooSmall]);
});

Deno.test("A gzip JSON write whose padding comes as tiny frames leaves the service answering", async () => {
  // The upstream (port 9) is closed: a body read to its end gets 502.
  await checkTinyFrames({
    head: "POST /posts HTTP/1.1\r\nContent-Type: application/json\r\n" +
      "Content-Encoding: gzip",
    prefix: gzipSync(encoder.encode('{"title":"x"}')),
    filler: 0,
  }, [/^HTTP\/1\.1 502 Bad Gateway/, tooSmall]);
});
