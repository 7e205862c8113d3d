/**
 * The rate floor (`UPLOAD_MIN_BYTES_PER_SECOND` past `UPLOAD_RATE_WINDOW_MS`)
 * of a `multipart/form-data` upload counts the body's bytes as they arrive,
 * the form's fields and framing included. It counted the file part's bytes
 * only, so a form sending its fields first (under the 1 MiB outside the file
 * part) at many times the floor got a 408 once the window passed, its detail
 * saying "received 0 bytes, then nothing for N ms" after hundreds of KiB.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { serveTempApp } from "./fixtures/served_app.ts";
import {
  rawRequest,
  sha256Hex,
  stalledBody,
} from "./fixtures/upload_client.ts";

const KiB = 1024;
const encoder = new TextEncoder();
const MIN_BYTES_PER_SECOND = 4 * KiB;
const WINDOW_MS = 500;

/** The floor and a short window, so the test is short. */
const FLOOR_ARGS = [
  "--upload-min-bytes-per-second",
  String(MIN_BYTES_PER_SECOND),
  "--upload-rate-window-ms",
  String(WINDOW_MS),
];

/**
 * A form: fields sent as `chunks` pieces of `chunkBytes` (8 KiB a field),
 * then its file part and end. `body` yields a piece every `everyMs`;
 * `sent` counts what it yielded.
 */
function slowForm(
  chunks: number,
  chunkBytes: number,
  everyMs: number,
  file: Uint8Array,
) {
  const perField = Math.max(1, Math.floor(8 * KiB / chunkBytes));
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < chunks; i++) {
    const value = new Uint8Array(chunkBytes).fill(0x76);
    if (i % perField !== 0) pieces.push(value);
    else {
      const head = `${i > 0 ? "\r\n" : ""}--B\r\n` +
        `content-disposition: form-data; name="f${i}"\r\n\r\n`;
      pieces.push(concat(encoder.encode(head), value));
    }
  }
  pieces.push(concat(
    encoder.encode(
      '\r\n--B\r\ncontent-disposition: form-data; name="file"; ' +
        'filename="a.bin"\r\n\r\n',
    ),
    file,
    encoder.encode("\r\n--B--\r\n"),
  ));
  const length = pieces.reduce((n, p) => n + p.byteLength, 0);
  const sent = { bytes: 0 };
  async function* body() {
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) await delay(everyMs);
      sent.bytes += piece.byteLength;
      yield piece;
    }
  }
  return { body: body(), length, sent };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

Deno.test("a form sending its fields first above the rate floor is stored, past the rate window", async () => {
  await using served = await serveTempApp(FLOOR_ARGS);
  const file = crypto.getRandomValues(new Uint8Array(64 * KiB));
  // 4 KiB every 100 ms: ~40 KiB/s of fields, ten times the floor, for
  // about six rate windows before the file part begins (~120 KiB).
  const { body, length } = slowForm(30, 4 * KiB, 100, file);
  const res = await rawRequest(served.addr, {
    headers: {
      "content-type": "multipart/form-data; boundary=B",
      "content-length": String(length),
    },
    body,
  });
  const text = new TextDecoder().decode(res.body);
  assert.equal(res.status, 201, text);
  const created = JSON.parse(text);
  assert.equal(created.size, file.byteLength);
  assert.equal(created.sha256, sha256Hex(file));
});

Deno.test("a form dripping its fields below the rate floor gets 408 naming the bytes it sent", async () => {
  await using served = await serveTempApp(FLOOR_ARGS);
  // 256 bytes every 100 ms: ~2.5 KiB/s, under the 4 KiB/s floor.
  const form = slowForm(100, 256, 100, new Uint8Array(16));
  const { body, length, sent } = form;
  const res = await rawRequest(served.addr, {
    headers: {
      "content-type": "multipart/form-data; boundary=B",
      "content-length": String(length),
    },
    body,
  });
  const text = new TextDecoder().decode(res.body);
  assert.equal(res.status, 408, text);
  const problem = JSON.parse(text);
  assert.equal(problem.minBytesPerSecond, MIN_BYTES_PER_SECOND);
  const match = /received (\d+) bytes \(0 of them the file's\)/.exec(
    problem.detail,
  );
  assert.ok(match, problem.detail);
  // The body's bytes: at least the first field's head and piece, at most
  // what the client had yielded.
  const received = Number(match[1]);
  assert.ok(received >= 256, problem.detail);
  assert.ok(received <= sent.bytes, `${problem.detail} (${sent.bytes} sent)`);
  assert.deepEqual([...Deno.readDirSync(served.filesDir)], []);
});

Deno.test("a form that stops after its first field gets 408 saying what came before the silence", async () => {
  await using served = await serveTempApp(FLOOR_ARGS);
  const { body } = slowForm(1, KiB, 0, new Uint8Array());
  const first = (await body.next()).value as Uint8Array;
  await body.return(undefined);
  const stalled = stalledBody([first]);
  try {
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=B" },
      body: stalled.stream,
    });
    const problem = await res.json();
    assert.equal(res.status, 408, JSON.stringify(problem));
    assert.match(
      problem.detail,
      new RegExp(
        `^Upload received ${first.byteLength} bytes \\(0 of them the ` +
          "file's\\), then nothing for \\d+ ms .*a form ends with its " +
          "closing boundary",
      ),
    );
  } finally {
    stalled.release();
  }
});

Deno.test("a form whose fields keep coming for longer than UPLOAD_IDLE_TIMEOUT_MS is not idle", async () => {
  // No floor: only the idle timer, which counted the file part's silence.
  await using served = await serveTempApp([
    "--upload-min-bytes-per-second",
    "0",
    "--upload-idle-timeout-ms",
    String(WINDOW_MS),
  ]);
  const file = crypto.getRandomValues(new Uint8Array(16 * KiB));
  // A piece every 100 ms for about six idle timeouts.
  const { body, length } = slowForm(30, 1 * KiB, 100, file);
  const res = await rawRequest(served.addr, {
    headers: {
      "content-type": "multipart/form-data; boundary=B",
      "content-length": String(length),
    },
    body,
  });
  const text = new TextDecoder().decode(res.body);
  assert.equal(res.status, 201, text);
  assert.equal(JSON.parse(text).sha256, sha256Hex(file));
});
