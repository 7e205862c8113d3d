/**
 * Writes whose JSON body drips in (`slowhttptest -B`) hold a connection
 * each and count busy: neither idle nor a stalled answer, so at
 * `MAX_CONNECTIONS` (or out of descriptors) nothing could be closed for a
 * new client until the body timeout (`HEADER_TIMEOUT_MS`, 30 s). By hand,
 * 600 such POSTs under `ulimit -n 256`: `/posts/1` timed out after 10 s in
 * 2 of 10 and 5 of 19 probes. Now the body arriving longest, for 5 s or
 * more (`SLOW_BODY_RECLAIM_MS`), is given up on (408) for the new client.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  giveUpSlowBodies,
  readingBody,
  SLOW_BODY_RECLAIM_MS,
} from "../services/http/slow_bodies.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { firstLine } from "./fixtures/until_closed.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** Opens `count` POSTs of JSON that send their head and 10 of 100 bytes. */
async function slowBodies(port: number, count: number) {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ port });
    await conn.write(new TextEncoder().encode(
      "POST /posts HTTP/1.1\r\nhost: x\r\n" +
        "content-type: application/json\r\ncontent-length: 100\r\n\r\n" +
        '{"title":"',
    ));
    conns.push(conn);
  }
  return conns;
}

Deno.test("MAX_CONNECTIONS filled with dripping write bodies: a new client is answered, the slowest body gets 408", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, MAX_CONNECTIONS: "20" },
    });
    const port = Number(new URL(service.url).port);
    const writers = await slowBodies(port, 20);
    try {
      await new Promise((resolve) =>
        setTimeout(resolve, SLOW_BODY_RECLAIM_MS + 1000)
      );
      // Before: 503 "Too many open connections" until HEADER_TIMEOUT_MS.
      const res = await fetch(`${service.url}/healthz`, {
        signal: AbortSignal.timeout(5000),
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      assert.equal(
        await firstLine(writers[0]!),
        "HTTP/1.1 408 Request Timeout",
      );
    } finally {
      for (const conn of writers) conn.close();
    }
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("giveUpSlowBodies ends the bodies begun longest ago, only those past the threshold, and validates", async () => {
  const first = readingBody();
  await new Promise((resolve) => setTimeout(resolve, 30));
  const second = readingBody();
  try {
    assert.equal(giveUpSlowBodies(5, 1000), 0);
    assert.equal(giveUpSlowBodies(5, 20), 1);
    assert.equal(first.signal.aborted, true);
    assert.equal(second.signal.aborted, false);
    second.done();
    assert.equal(giveUpSlowBodies(5, 0), 0);
    assert.throws(() => giveUpSlowBodies(0), RangeError);
    assert.throws(() => giveUpSlowBodies(1, -1), RangeError);
  } finally {
    first.done();
    second.done();
  }
});
