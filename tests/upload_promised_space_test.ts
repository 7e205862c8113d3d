/**
 * Uploads sent slowly at once, each declaring its length, on a real small
 * disk (tmpfs): each was checked alone against the free space, so all were
 * taken, and the disk filled under them part-way. An upload that does not
 * fit in what the uploads in flight have left is now 507 before its body
 * is read, and those taken are stored. Such refusals are said to the
 * operator: one `upload.no_space` error line at most every 10 s.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { mountTmpfs } from "./fixtures/tmpfs.ts";
import { rawRequest } from "./fixtures/upload_client.ts";
import { until } from "./fixtures/until.ts";

const MIB = 1024 * 1024;
const DECLARED = 5 * MIB;

/** A body of `bytes` that sends its first 64 KiB, then the rest after `go`. */
async function* slowly(
  bytes: Uint8Array,
  go: Promise<void>,
): AsyncIterable<Uint8Array> {
  yield bytes.subarray(0, 64 * 1024);
  await go;
  yield bytes.subarray(64 * 1024);
}

Deno.test("uploads in flight promise the disk their declared lengths: one past what is left is 507 before its body", async () => {
  await using disk = await mountTmpfs({ sizeBytes: 16 * MIB });
  await using served = await serveApp({ dataDir: disk.dir });
  const addr = {
    hostname: "127.0.0.1",
    port: Number(new URL(served.url).port),
  };
  const headers = {
    "content-type": "application/octet-stream",
    "content-length": String(DECLARED),
  };
  const bytes = new Uint8Array(DECLARED).fill(7);
  const { promise: go, resolve: release } = Promise.withResolvers<void>();
  // Three of 5 MiB fit in 16 MiB; a fourth would fill the disk part-way.
  const taken = [1, 2, 3].map(() =>
    rawRequest(addr, { headers, body: slowly(bytes, go) })
  );
  try {
    await until(async () => {
      const res = await fetch(`${served.url}/uploads`);
      return (await res.json()).items.length === 3;
    }, "three uploads in flight");
    const refused = await rawRequest(addr, { headers, timeoutMs: 5_000 });
    const text = new TextDecoder().decode(refused.body);
    assert.equal(refused.status, 507, text);
    // The runtime adds its own close to the service's (an unread body).
    assert.match(refused.headers.get("connection") ?? "", /^close\b/);
    assert.equal(JSON.parse(text).status, 507);
  } finally {
    release();
  }
  for (const answer of await Promise.all(taken)) {
    assert.equal(answer.status, 201, new TextDecoder().decode(answer.body));
  }
  // Nothing promised is left once they are stored: a small upload fits.
  const small = await fetch(`${served.url}/files`, {
    method: "POST",
    body: new Uint8Array(1000),
  });
  assert.equal(small.status, 201, await small.text());
});

Deno.test("a disk too full for the declared length: 507, and one upload.no_space error line for a burst", async () => {
  // Only the access lines told it (info, "upload":"no_space"): at
  // LOG_LEVEL=warn an operator saw nothing while every upload got 507.
  await using disk = await mountTmpfs({ sizeBytes: MIB });
  await using served = await serveApp({ dataDir: disk.dir });
  const ids = ["full-1", "full-2", "full-3"];
  for (const id of ids) {
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      headers: { "x-request-id": id },
      body: new Uint8Array(2 * MIB),
    });
    assert.equal(res.status, 507, await res.text());
  }
  const lines = served.records.filter((r) => r.msg === "upload.no_space");
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.level, "error");
  assert.equal(lines[0]!.requestId, "full-1");
  assert.match(String(lines[0]!.detail), /free disk space/);
});

/** A body of `bytes` in 64 KiB chunks with no declared length (chunked). */
function unsized(bytes: number): ReadableStream<Uint8Array> {
  let left = bytes;
  return new ReadableStream({
    pull(controller) {
      const size = Math.min(64 * 1024, left);
      controller.enqueue(new Uint8Array(size).fill(7));
      left -= size;
      if (left === 0) controller.close();
    },
  });
}

Deno.test("a disk that fills under bodies of no declared length: 507, and one upload.no_space error line for the burst", async () => {
  // With no length to check first, the disk fills during the body. Each
  // such 507 was its own error line, with the request id alone: a burst
  // of them (curl -T from a pipe, a chunked client) logged a line per
  // upload beside its access line, where the 507s before the body are one
  // line a burst, and nothing said the disk was full.
  await using disk = await mountTmpfs({ sizeBytes: MIB });
  await using served = await serveApp({ dataDir: disk.dir });
  const ids = ["chunked-1", "chunked-2", "chunked-3"];
  for (const id of ids) {
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      headers: {
        "x-request-id": id,
        "content-type": "application/octet-stream",
      },
      body: unsized(2 * MIB),
    });
    assert.equal(res.status, 507, await res.text());
  }
  const lines = served.records.filter((r) => r.msg === "upload.no_space");
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.level, "error");
  assert.equal(lines[0]!.requestId, "chunked-1");
  assert.equal(lines[0]!.reason, "during_body");
  assert.match(String(lines[0]!.detail), /disk is full/);
});
