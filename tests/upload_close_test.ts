/**
 * An upload answered early with `Connection: close` (refused with 429, or
 * stopped with 408) loses its connection soon after the answer, even while
 * its client goes on sending the body: the runtime alone keeps such a
 * connection open until the body ends, so a slow client could hold a
 * connection for ever after being refused. `main.ts` runs as a child
 * process, with its real server, over real sockets.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { spawnUploadService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { untilClosed } from "./fixtures/until_closed.ts";
import { until } from "./fixtures/until.ts";
import { scrapeSample } from "./fixtures/exposition.ts";

const encoder = new TextEncoder();

/**
 * Opens an upload declaring 1 MB (or `length`), with `headers` added, and
 * sends its first 3 bytes.
 */
async function startUpload(
  port: number,
  headers = "",
  length = 1_000_000,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    "POST /files HTTP/1.1\r\nhost: x\r\n" +
      "content-type: application/octet-stream\r\n" + headers +
      `content-length: ${length}\r\n\r\nabc`,
  ));
  return conn;
}

/**
 * Sends a byte every 100 ms while reading `conn` until the server closes
 * it or `timeoutMs` passes: what was read, and whether the server closed it.
 */
async function trickleUntilClosed(conn: Deno.TcpConn, timeoutMs: number) {
  let done = false;
  const sending = (async () => {
    while (!done) {
      try {
        await conn.write(new Uint8Array([120]));
      } catch {
        return; // the server closed it, or untilClosed did
      }
      await delay(100);
    }
  })();
  const { open, ms, text } = await untilClosed(conn, timeoutMs);
  done = true;
  await sending;
  return { closed: !open, ms, text };
}

Deno.test("an upload refused with 429 gets its answer and loses its connection while its body still trickles in", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnUploadService(dataDir, [
      "--max-uploads-per-client",
      "1",
    ]);
    const port = Number(new URL(service.url).port);
    const holding = await startUpload(port);
    try {
      // The first upload holds this address's one slot.
      await until(
        async () => await scrapeSample(service.url, "uploads_in_flight") === 1,
        "the first upload under way",
      );
      const refused = await startUpload(port);
      const result = await trickleUntilClosed(refused, 10_000);
      assert.match(result.text, /^HTTP\/1\.1 429 /, result.text);
      assert.match(result.text, /application\/problem\+json/);
      // Closed a couple of seconds after the answer; before, it stayed
      // open for as long as the client kept sending.
      // (the 10 s above is a hang detector, not a bound).
      assert.ok(result.closed, `still open after ${Math.round(result.ms)} ms`);
    } finally {
      holding.close();
    }
  }, "upload_close_test-");
});

Deno.test("uploads refused before their body is read (413, 400, 415) say Connection: close once, the runtime's, and lose their connection while the body still trickles in", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnUploadService(dataDir, [
      "--max-upload-bytes",
      "1000",
    ]);
    const port = Number(new URL(service.url).port);
    const refusals: [string, string][] = [
      ["413", ""],
      ["400", "upload-id: not-an-id\r\n"],
      ["415", "content-encoding: br-unknown\r\n"],
    ];
    for (const [status, headers] of refusals) {
      const length = status === "413" ? 1_000_000 : 900;
      const conn = await startUpload(port, headers, length);
      const result = await trickleUntilClosed(conn, 10_000);
      const head = result.text.split("\r\n\r\n")[0] ?? "";
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), head);
      // The runtime adds its own to an answer given with the body unread:
      // the service's made it two lines.
      const closes = head.split("\r\n").filter((line) =>
        /^connection:/i.test(line)
      );
      assert.deepEqual(closes, ["connection: close"], head);
      assert.ok(result.closed, `${status}: still open after ${result.ms} ms`);
    }
  }, "upload_close_test-");
});
