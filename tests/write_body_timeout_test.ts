/**
 * A write whose body trickles in (or stops) is answered 408 once
 * HEADER_TIMEOUT_MS has passed, and its connection closed: the server's
 * timers leave a connection with a request in flight alone, so such a
 * body held it for ever (45 s and counting with the default 30 s).
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("a write body that stops arriving gets 408 after HEADER_TIMEOUT_MS, and nothing reaches the upstream", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, HEADER_TIMEOUT_MS: "500" },
    });
    const conn = await Deno.connect({
      port: Number(new URL(service.url).port),
    });
    await conn.write(new TextEncoder().encode(
      "POST /posts HTTP/1.1\r\nhost: x\r\n" +
        "content-type: application/json\r\ncontent-length: 100\r\n\r\n" +
        '{"title":',
    ));
    // A hang detector, not a bound: only the body timeout sends a 408.
    const timer = setTimeout(() => conn.close(), 10_000);
    let text = "";
    const buffer = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
    } catch {
      // a reset after the answer ends it too
    }
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /connection: close/i);
    assert.equal(upstream.hits(), 0);
  });
});
