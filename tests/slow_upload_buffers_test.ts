/**
 * The memory slow uploads hold, as the service reports it
 * (`upload_buffer_bytes`): uploads whose bodies come a KiB at a time hold
 * a few small buffers each, not a growing pile of 64 KiB ones. With the
 * gauge alone (before the fix) each such upload held a 64 KiB buffer per
 * read until the hash's batch reached 2 MiB: 100 uploads at 2 KiB/s, 206
 * MiB of buffers and RSS +164 MiB after 45 s.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { parseExposition } from "./fixtures/exposition.ts";
import { serveTempApp } from "./fixtures/served_app.ts";
import { rawRequest } from "./fixtures/upload_client.ts";
import { until } from "./fixtures/until.ts";

const KiB = 1024;
const UPLOADS = 8;
const PIECE_BYTES = 1 * KiB;
// Sent one at a time, each after a pause: each is a read of its own.
const SLOW_PIECES = 12;
const PAUSE_MS = 100;
const REST_BYTES = 4 * KiB;

async function gauges(url: string) {
  const values = parseExposition(await (await fetch(`${url}/metrics`)).text());
  return {
    buffers: values.get("upload_buffer_bytes"),
    uploads: values.get("uploads_in_flight"),
  };
}

/** A body sent a piece at a time, then, once `rest` resolves, the rest. */
async function* slowBody(rest: Promise<void>, sent: () => void) {
  for (let i = 0; i < SLOW_PIECES; i++) {
    yield new Uint8Array(PIECE_BYTES).fill(i);
    await sleep(PAUSE_MS);
  }
  sent();
  await rest;
  yield new Uint8Array(REST_BYTES).fill(255);
}

Deno.test("slow uploads hold a few small buffers each (upload_buffer_bytes)", async () => {
  await using served = await serveTempApp(["--max-uploads-per-client", "0"]);
  const rest = Promise.withResolvers<void>();
  let slowSent = 0;
  const length = SLOW_PIECES * PIECE_BYTES + REST_BYTES;
  const answers = Array.from(
    { length: UPLOADS },
    () =>
      rawRequest(served.addr, {
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Length": String(length),
        },
        body: slowBody(rest.promise, () => slowSent++),
      }),
  );
  try {
    await until(() => slowSent === UPLOADS, "the slow pieces sent", 20_000);
    const during = await gauges(served.url);
    assert.equal(during.uploads, UPLOADS);
    // Each upload's buffers: the one its reader waits with, the one coming
    // back from the hash. 64 KiB each at most: a buffer per read, kept
    // until the hash's batch filled, was 13 x 64 KiB an upload.
    const bound = UPLOADS * 64 * KiB;
    await until(
      async () => (await gauges(served.url)).buffers! <= bound,
      `upload_buffer_bytes <= ${bound} (was ${during.buffers})`,
      10_000,
    );
  } finally {
    rest.resolve();
  }
  for (const answer of await Promise.all(answers)) {
    assert.equal(answer.status, 201, new TextDecoder().decode(answer.body));
  }
  // Ended uploads hold nothing.
  assert.deepEqual(await gauges(served.url), { buffers: 0, uploads: 0 });
});
