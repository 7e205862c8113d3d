/**
 * A download whose client stops reading is closed after
 * DOWNLOAD_IDLE_TIMEOUT_MS, releasing its connection and file (slowhttptest
 * -X held them for ever); one that reads gets every byte.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { withStallTimeout } from "../services/http/stall_timeout.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { storeUnreadable, UNREADABLE_BYTES } from "./fixtures/files_service.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { readAfterIdle } from "./fixtures/until_closed.ts";

Deno.test("a download whose client reads nothing for DOWNLOAD_IDLE_TIMEOUT_MS is closed; a reading one gets it all", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { DOWNLOAD_IDLE_TIMEOUT_MS: "500" },
    });
    const id = await storeUnreadable(service.url);
    // Read nothing for well past the timeout: the buffers between fill up
    // and the service stops being asked for more.
    const received = await readAfterIdle(service.url, `/files/${id}`);
    assert.ok(received > 0, "the download started");
    assert.ok(
      received < UNREADABLE_BYTES,
      `closed before the end: ${received} of ${UNREADABLE_BYTES} bytes`,
    );
    const whole = await fetch(`${service.url}/files/${id}`);
    assert.equal((await whole.bytes()).byteLength, UNREADABLE_BYTES);
    // Giving up on a reader of nothing is the protection at work: an info
    // line, not request.unhandled with a stack on stderr (one per
    // slowhttptest -X reader before).
    assert.doesNotMatch(service.stderr, /request\.unhandled/);
    const stalled = service.lines.map((line) => JSON.parse(line)).filter((
      record,
    ) => record.msg === "response.stalled");
    assert.deepEqual(stalled.map((record) => record.level), ["info"]);
  });
});

Deno.test("many readers of nothing given up on make one response.stalled line, each its access line", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { DOWNLOAD_IDLE_TIMEOUT_MS: "500" },
    });
    const id = await storeUnreadable(service.url);
    // slowhttptest -X made a response.stalled line per reader beside its
    // access line (331 of them, no request id in any): a line flood
    // saying nothing the access lines do not.
    const readers = 8;
    const received = await Promise.all(
      Array.from(
        { length: readers },
        () => readAfterIdle(service.url, `/files/${id}`),
      ),
    );
    for (const bytes of received) assert.ok(bytes < UNREADABLE_BYTES);
    // Every stall was logged before its connection closed; a later
    // request's access line comes after all of them.
    const probe = await fetch(`${service.url}/healthz`);
    await probe.body?.cancel();
    const requestId = probe.headers.get("x-request-id");
    await service.waitForLine((record) => record.requestId === requestId);
    const records = service.lines.map((line) => JSON.parse(line));
    const cut = records.filter((record) =>
      record.msg === "request" && record.cut === "stalled"
    );
    assert.equal(cut.length, readers);
    const stalled = records.filter((record) =>
      record.msg === "response.stalled"
    );
    assert.equal(stalled.length, 1, JSON.stringify(stalled));
    assert.equal(stalled[0].level, "info");
    assert.deepEqual(stalled[0].stalled, { no_read: 1 });
  });
});

Deno.test("withStallTimeout validates its timeout and passes a read stream through", async () => {
  const source = () => ReadableStream.from([new Uint8Array([1, 2])]);
  assert.throws(() => withStallTimeout(source(), { timeoutMs: 0 }), RangeError);
  const bytes = await new Response(
    withStallTimeout(source(), { timeoutMs: 1000 }),
  ).bytes();
  assert.deepEqual([...bytes], [1, 2]);
});

Deno.test("a body whose client goes away at any point leaves no stall timer behind", async () => {
  // Deno.serve writes a chunk from inside `enqueue` and, when it finds the
  // connection closed there, cancels the body before `enqueue` returns; a
  // timer armed after `enqueue` then outlived the body (a CI run failed
  // the sanitizer with it). Which way a cancel comes depends on when the
  // chunk arrives relative to the close, so the chunks come 0-3 ms after
  // each request for one and the client leaves 0-3 ms after its first
  // chunk, over and over: the sanitizer fails the test if any timer is
  // left (the old code left 4 to 33 timers in each of 4 runs here).
  const waits: Promise<void>[] = [];
  let round = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      let pulls = round;
      const source = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const wait = sleep(pulls++ % 4);
          waits.push(wait);
          await wait;
          controller.enqueue(new Uint8Array(1000));
        },
      }, { highWaterMark: 0 });
      return new Response(withStallTimeout(source, { timeoutMs: 60_000 }));
    },
  );
  try {
    for (round = 0; round < 320; round++) {
      const aborter = new AbortController();
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        signal: aborter.signal,
      });
      const reader = res.body!.getReader();
      assert.equal((await reader.read()).value?.byteLength, 1000);
      await sleep(Math.floor(round / 4) % 4);
      aborter.abort();
      await reader.cancel().catch(() => {});
    }
  } finally {
    await server.shutdown();
  }
  await Promise.all(waits);
});
