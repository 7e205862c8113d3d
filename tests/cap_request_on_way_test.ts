/**
 * At MAX_CONNECTIONS with every other connection busy, the one accepted a
 * moment ago makes room for the next (so idle sockets cannot lock clients
 * out); when that one's request was already on its way (sent, its head not
 * yet handled), it was closed without a word: curl's "Connection reset by
 * peer" or "Empty reply from server", 10 of 49 probes under
 * `slowhttptest -X`. It now gets the 503 a connection over the cap gets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { untilClosed } from "./fixtures/until_closed.ts";

const encoder = new TextEncoder();

/** Starts an upload on `conn` whose body then stalls: a request in flight. */
async function stalledUpload(conn: Deno.TcpConn): Promise<void> {
  await conn.write(encoder.encode(
    "POST /files HTTP/1.1\r\nhost: x\r\n" +
      "content-type: application/octet-stream\r\n" +
      "content-length: 100000\r\n\r\nfirst bytes",
  ));
}

Deno.test("at MAX_CONNECTIONS, a connection making room for the next while its request is on its way is answered 503, not closed without a word", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { MAX_CONNECTIONS: "4", LOG_LEVEL: "debug" },
    });
    const port = Number(new URL(service.url).port);
    using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const busy: Deno.TcpConn[] = [];
    let probe: Deno.TcpConn | undefined;
    try {
      for (let i = 0; i < 3; i++) busy.push(await Deno.connect({ port }));
      await Promise.all(busy.map(stalledUpload));
      // Each upload traces its first chunk: then all three are in flight.
      const started = new Set<unknown>();
      while (started.size < 3) {
        const line = await service.waitForLine((r) =>
          r.msg === "upload.trace" && !started.has(r.id)
        );
        started.add(line.id);
      }
      // The fourth, the only idle one: its request sent but for the
      // head's end, as a head still in the kernel's buffer, not handled.
      probe = await Deno.connect({ port });
      await probe.write(encoder.encode("GET /healthz HTTP/1.1\r\nhost: x\r\n"));
      // Accepted after it: the probe makes room for this one.
      const next = await fetch(`${service.url}/healthz`, { client });
      await next.body?.cancel();
      assert.equal(next.status, 200);
      await probe.write(encoder.encode("\r\n")).catch(() => 0);
      const answer = await untilClosed(probe, 5000);
      probe = undefined;
      // Before: "" (closed or reset without an answer).
      const head = answer.text.split("\r\n\r\n")[0]!.toLowerCase();
      assert.match(head, /^http\/1\.1 503 /);
      assert.match(head, /\r\nretry-after: 1\r\n/);
      assert.match(head, /\r\nconnection: close\r\n/);
      assert.match(head, /\r\ncontent-type: application\/problem\+json/);
      assert.equal(answer.open, false);
    } finally {
      probe?.close();
      for (const conn of busy) conn.close();
    }
  });
});
