/**
 * The connection layer's idle bookkeeping (services/server/tracked.ts): a
 * request's end reads no clock, the sweeps stamp when a connection went
 * idle. A kept-alive connection is still closed after its keep-alive
 * timeout from its last answer (up to two sweeps late, never early), and
 * at the connection cap the one idle longest makes room.
 *
 * @module
 */

import assert from "node:assert/strict";
import { silentLogger } from "../services/ops/logger.ts";
import { serveGuarded } from "../services/server/http_server.ts";
import { untilClosed } from "./fixtures/until_closed.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One request on `conn` and its whole (short, fixed-length) answer. */
async function ask(conn: Deno.Conn): Promise<string> {
  await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.endsWith("\r\n\r\nok")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text;
}

Deno.test("a kept-alive connection's timeout runs from its last answer, however many came before; at the cap the one idle longest goes", async () => {
  await using server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    handler: () => new Response("ok"),
    logger: silentLogger,
    headerTimeoutMs: 400,
    keepAliveTimeoutMs: 400,
    maxConnections: 2,
  });
  const port = server.addr.port;
  const busy = await Deno.connect({ port });
  // Past the timeout in all, never idle that long: kept open.
  for (let i = 0; i < 6; i++) {
    assert.match(await ask(busy), /^HTTP\/1\.1 200 /, `request ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const closed = await untilClosed(busy, 5000);
  assert.equal(closed.open, false, "idle past its timeout");
  // 150 ms idle already; the rest of 400, up to two sweeps (100 ms) late.
  assert.ok(closed.ms >= 200, `closed early: ${closed.ms} ms`);
  assert.equal(server.stats.idleTimeouts, 1);

  const older = await Deno.connect({ port });
  const newer = await Deno.connect({ port });
  try {
    assert.match(await ask(older), /^HTTP\/1\.1 200 /);
    // Sweeps (every 100 ms) see `older` idle; `newer` answers after them.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.match(await ask(newer), /^HTTP\/1\.1 200 /);
    const third = await Deno.connect({ port });
    try {
      const reclaimed = await untilClosed(older, 2000);
      assert.equal(reclaimed.open, false, "the one idle longest made room");
      assert.match(await ask(third), /^HTTP\/1\.1 200 /);
      assert.match(await ask(newer), /^HTTP\/1\.1 200 /, "newer kept");
    } finally {
      third.close();
    }
  } finally {
    newer.close();
  }
  assert.equal(server.stats.reclaimed, 1);
});
