/**
 * An upload whose hash worker ends mid-body: the real app on a real
 * socket, a client sending slowly, and the worker ended through
 * `HashWorker.close()` (what the app's close does), or dying of an
 * uncaught error in its thread. The upload must be answered (503
 * problem+json, `Connection: close`) within a bounded time, logged with
 * its request id, its slot freed and its `.part` removed; the next upload
 * must be stored with the right SHA-256, and a dead worker replaced (at
 * once, then after a wait that doubles while it keeps dying).
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { join } from "node:path";
import { HashWorkerEndedError } from "../services/uploads/errors.ts";
import type { HashWorker } from "../services/uploads/hashing.ts";
import { serveTempApp } from "./fixtures/served_app.ts";
import { listDir } from "./fixtures/temp_dir.ts";
import {
  assertStoppedUpload,
  rawRequest,
  sha256Hex,
} from "./fixtures/upload_client.ts";

const KiB = 1024;

/** Resolves once `found()` holds; rejects after `ms`. */
async function untilAsync(
  found: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const end = performance.now() + ms;
  while (!await found()) {
    if (performance.now() > end) throw new Error(`not within ${ms} ms`);
    await delay(10);
  }
}

/** Bytes in the `.part` files of `dir`. */
async function partBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await listDir(dir)) {
    if (name.endsWith(".part")) {
      bytes += (await Deno.stat(join(dir, name))).size;
    }
  }
  return bytes;
}

/**
 * An upload sending 16 KiB every 20 ms for 10 min (an answer that waits
 * for its end is a hang, caught by the generous bound), settled (never
 * rejected, so a failure while the test waits is not unhandled) with its
 * answer, and whether its body was still being sent then, or its error;
 * `stop()` ends its body early.
 */
function slowUpload(addr: { hostname: string; port: number }) {
  const chunks = 30_000;
  let sending = true;
  let sentAll = false;
  const slowBody = async function* () {
    for (let i = 0; i < chunks && sending; i++) {
      if (i > 0) await delay(20);
      yield crypto.getRandomValues(new Uint8Array(16 * KiB));
    }
    sentAll = sending;
  };
  const answer = rawRequest(addr, {
    headers: {
      "content-length": String(chunks * 16 * KiB),
      "content-type": "application/octet-stream",
    },
    body: slowBody(),
    timeoutMs: 60_000,
  }).then(
    (response) => ({ response, whileSending: !sentAll }),
    (error) => ({ error }),
  );
  return { answer, stop: () => sending = false };
}

/**
 * Uploads `size` random bytes; asserts 201 with their SHA-256, and
 * resolves the new file's id.
 */
async function stored(
  addr: { hostname: string; port: number },
  size: number,
): Promise<string> {
  const body = crypto.getRandomValues(new Uint8Array(size));
  const res = await rawRequest(addr, {
    headers: {
      "content-length": String(size),
      "content-type": "application/octet-stream",
    },
    body: [body],
    timeoutMs: 5_000,
  });
  const created = JSON.parse(new TextDecoder().decode(res.body));
  assert.equal(res.status, 201, JSON.stringify(created));
  assert.equal(created.sha256, sha256Hex(body));
  return created.id;
}

Deno.test("the hash worker ends mid-upload: 503 at once, slot and .part freed, the next upload is stored", async () => {
  await using served = await serveTempApp();
  const { app, addr, records, filesDir } = served;
  // The upload is still sending when the worker ends, and far from done
  // when the answer must have come.
  const { answer, stop } = slowUpload(addr);
  let result;
  let whileSending;
  try {
    // Body bytes are on disk (and went to the hash).
    await untilAsync(async () => (await partBytes(filesDir)) > 0, 5_000);
    assert.equal(app.uploads.active, 1);
    app.hashing.close();
    const settled = await answer;
    if ("error" in settled) throw settled.error;
    ({ response: result, whileSending } = settled);
  } finally {
    stop();
  }
  assertStoppedUpload(result);
  // At once: while the body was still being sent, not at its end.
  assert.equal(whileSending, true, "answered only once the body was sent");
  assert.equal(result.headers.get("retry-after"), "1");
  const requestId = result.headers.get("x-request-id");
  assert.ok(requestId);
  const logged = records.find((r) => r.msg === "upload.error");
  assert.equal(logged?.requestId, requestId, JSON.stringify(logged));
  await untilAsync(() => Promise.resolve(app.uploads.active === 0), 2_000);
  assert.deepEqual(await listDir(filesDir), []);

  // The next upload gets a worker again and is stored whole.
  const id = await stored(addr, 48 * KiB);
  assert.deepEqual(
    await listDir(filesDir),
    [id, `${id}.json`].sort(),
  );
});

/**
 * Makes the real worker die of an uncaught error in its thread: a buffer
 * handed to it shrinks before it is sent, so the worker's view of its
 * length throws. Resolves whether a worker died (false: there was none,
 * and the hash ran on the calling thread).
 */
async function killWorker(hashing: HashWorker): Promise<boolean> {
  const hash = hashing.hash(() => {});
  const buffer = new ArrayBuffer(1024, { maxByteLength: 1024 });
  hash.update(new Uint8Array(buffer, 0, 1024));
  buffer.resize(0);
  try {
    await hash.digest();
    return false;
  } catch (error) {
    assert.ok(error instanceof HashWorkerEndedError, String(error));
    return true;
  }
}

Deno.test("the hash worker dies mid-upload: 503, the next upload is stored, and a new worker follows, later if it keeps dying", async () => {
  await using served = await serveTempApp();
  const { app, addr, records, filesDir } = served;
  const exits = () => records.filter((r) => r.msg === "hash_worker.exited");
  const upload = slowUpload(addr);
  let answer;
  try {
    await untilAsync(async () => (await partBytes(filesDir)) > 0, 5_000);
    assert.equal(await killWorker(app.hashing), true);
    const settled = await upload.answer;
    if ("error" in settled) throw settled.error;
    answer = settled.response;
  } finally {
    upload.stop();
  }
  assert.equal(answer.status, 503, new TextDecoder().decode(answer.body));
  assert.equal(answer.headers.get("retry-after"), "1");
  assert.deepEqual(exits().map((r) => [r.uploads, r.restartInMs]), [[2, 0]]);
  await untilAsync(() => Promise.resolve(app.uploads.active === 0), 2_000);
  assert.deepEqual(await listDir(filesDir), []);
  // The next upload, at once: stored (on the calling thread, or on the
  // new worker once it is there).
  await stored(addr, 48 * KiB);
  // A new worker is there at once, and an upload it hashes whole shows it
  // lives: its next death is replaced at once again.
  await delay(50);
  await stored(addr, 48 * KiB);
  assert.equal(await killWorker(app.hashing), true);
  assert.deepEqual(exits().at(-1)?.restartInMs, 0);
  // Dying again with no upload hashed in between: the next one waits 1 s,
  // while uploads are hashed on the calling thread and stored.
  await delay(50);
  assert.equal(await killWorker(app.hashing), true);
  assert.deepEqual(exits().at(-1)?.restartInMs, 1_000);
  await stored(addr, 48 * KiB);
  assert.equal(await killWorker(app.hashing), false);
  await delay(1_100);
  assert.equal(await killWorker(app.hashing), true);
  assert.deepEqual(exits().at(-1)?.restartInMs, 2_000);
  assert.equal(exits().length, 4);
  await stored(addr, 48 * KiB);
  assert.equal(
    records.filter((r) =>
      r.level === "error" && r.msg !== "hash_worker.exited" &&
      r.msg !== "upload.error"
    ).length,
    0,
  );
});
