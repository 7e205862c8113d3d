/**
 * An upload whose hash worker ends mid-body: the real app on a real
 * socket, a client sending slowly, and the worker ended through
 * `HashWorker.close()` (what the app's close does). The upload must be
 * answered (503 problem+json, `Connection: close`) within a bounded time,
 * logged with its request id, its slot freed and its `.part` removed; the
 * next upload must be stored with the right SHA-256.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serveTempApp } from "./fixtures/served_app.ts";
import { listDir } from "./fixtures/temp_dir.ts";
import { rawRequest, sha256Hex } from "./fixtures/upload_client.ts";

const KiB = 1024;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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

Deno.test("the hash worker ends mid-upload: 503 at once, slot and .part freed, the next upload is stored", async () => {
  await using served = await serveTempApp();
  const { app, addr, records, filesDir } = served;
  // 16 KiB every 20 ms for 8 s: the upload is still sending when the
  // worker ends, and far from done when the answer must have come.
  const chunks = 400;
  let sending = true;
  const slowBody = async function* () {
    for (let i = 0; i < chunks && sending; i++) {
      if (i > 0) await delay(20);
      yield crypto.getRandomValues(new Uint8Array(16 * KiB));
    }
  };
  const upload = rawRequest(addr, {
    headers: {
      "content-length": String(chunks * 16 * KiB),
      "content-type": "application/octet-stream",
    },
    body: slowBody(),
    timeoutMs: 5_000,
  });
  // Settled now, so a failure while the test waits is not unhandled.
  const answer = upload.then(
    (response) => ({ response }),
    (error) => ({ error }),
  );
  let result;
  let answeredMs;
  try {
    // Body bytes are on disk (and went to the hash).
    await untilAsync(async () => (await partBytes(filesDir)) > 0, 5_000);
    assert.equal(app.uploads.active, 1);
    const t0 = performance.now();
    app.hashing.close();
    const settled = await answer;
    if ("error" in settled) throw settled.error;
    result = settled.response;
    answeredMs = performance.now() - t0;
  } finally {
    sending = false;
  }
  const text = new TextDecoder().decode(result.body);
  assert.equal(result.status, 503, text);
  assert.ok(answeredMs < 2_000, `answered after ${answeredMs} ms`);
  assert.equal(result.headers.get("content-type"), "application/problem+json");
  assert.equal(result.headers.get("connection"), "close");
  assert.equal(result.headers.get("retry-after"), "1");
  const requestId = result.headers.get("x-request-id");
  assert.ok(requestId);
  const logged = records.find((r) => r.msg === "upload.error");
  assert.equal(logged?.requestId, requestId, JSON.stringify(logged));
  await untilAsync(() => Promise.resolve(app.uploads.active === 0), 2_000);
  assert.deepEqual(await listDir(filesDir), []);

  // The next upload gets a worker again and is stored whole.
  const body = crypto.getRandomValues(new Uint8Array(48 * KiB));
  const next = await rawRequest(addr, {
    headers: {
      "content-length": String(body.byteLength),
      "content-type": "application/octet-stream",
    },
    body: [body],
    timeoutMs: 5_000,
  });
  const created = JSON.parse(new TextDecoder().decode(next.body));
  assert.equal(next.status, 201, JSON.stringify(created));
  assert.equal(created.sha256, sha256Hex(body));
  assert.deepEqual(
    await listDir(filesDir),
    [created.id, `${created.id}.json`].sort(),
  );
});
