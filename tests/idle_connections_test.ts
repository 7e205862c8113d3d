/**
 * The connection layer's idle bookkeeping (services/server/tracked.ts): a
 * request's end reads no clock, the sweeps stamp when a connection went
 * idle. A kept-alive connection is still closed after its keep-alive
 * timeout from its last answer (up to two sweeps late, never early), a
 * second request head dripped on it too, and at the connection cap the
 * one idle longest makes room.
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
    headerTimeoutMs: 800,
    keepAliveTimeoutMs: 800,
    maxConnections: 2,
  });
  const port = server.addr.port;
  const busy = await Deno.connect({ port });
  // Past the timeout in all, never idle that long: kept open. (A pause
  // of 150 ms leaves 650 for a loaded machine's late timers.)
  for (let i = 0; i < 8; i++) {
    assert.match(await ask(busy), /^HTTP\/1\.1 200 /, `request ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const closed = await untilClosed(busy, 5000);
  assert.equal(closed.open, false, "idle past its timeout");
  // 150 ms idle already; the rest of 800, up to two sweeps (200 ms) late.
  assert.ok(closed.ms >= 600, `closed early: ${closed.ms} ms`);
  assert.equal(server.stats.idleTimeouts, 1);

  const older = await Deno.connect({ port });
  let newer: Deno.Conn | undefined;
  try {
    assert.match(await ask(older), /^HTTP\/1\.1 200 /);
    // Sweeps (every 200 ms) see `older` idle; `newer` answers after them.
    // Connected only now: silent meanwhile, it would meet the header
    // timeout first on a machine whose timers run late.
    await new Promise((resolve) => setTimeout(resolve, 300));
    newer = await Deno.connect({ port });
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
    newer?.close();
  }
  assert.equal(server.stats.reclaimed, 1);
});

Deno.test("a second request head dripped on a kept-alive connection counts as idle: closed by the keep-alive timeout from the last answer, and first to make room at the cap", async () => {
  await using server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    handler: () => new Response("ok"),
    logger: silentLogger,
    headerTimeoutMs: 300,
    keepAliveTimeoutMs: 2500,
    maxConnections: 2,
  });
  const port = server.addr.port;
  const drip = async (conn: Deno.Conn, signal: AbortSignal) => {
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    for (let i = 0; !signal.aborted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await conn.write(encoder.encode(`x-${i}: y\r\n`)).catch(() => {});
    }
  };
  // The runtime reads the head's bytes, so nothing tells this layer a head
  // has begun: the dripped head runs to the keep-alive timeout, not the
  // header timeout (README, Limits and protections).
  const alone = await Deno.connect({ port });
  assert.match(await ask(alone), /^HTTP\/1\.1 200 /);
  const stop = new AbortController();
  const dripping = drip(alone, stop.signal);
  const closed = await untilClosed(alone, 5000);
  stop.abort();
  await dripping;
  assert.equal(closed.open, false);
  assert.ok(closed.ms >= 2000, `closed after ${Math.round(closed.ms)} ms`);
  assert.equal(server.stats.idleTimeouts, 1);

  // At the cap, the dripping connection goes before one idle since later.
  const dripper = await Deno.connect({ port });
  let other: Deno.Conn | undefined;
  const stopped = new AbortController();
  try {
    assert.match(await ask(dripper), /^HTTP\/1\.1 200 /);
    const dripped = drip(dripper, stopped.signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Connected only now: silent for those 300 ms, it met the 300 ms header
    // timeout whenever the timers ran a little late (a loaded machine).
    other = await Deno.connect({ port });
    assert.match(await ask(other), /^HTTP\/1\.1 200 /);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const third = await Deno.connect({ port });
    try {
      const reclaimed = await untilClosed(dripper, 2000);
      stopped.abort();
      await dripped;
      assert.equal(reclaimed.open, false, "the dripping one made room");
      assert.match(await ask(third), /^HTTP\/1\.1 200 /);
      assert.match(await ask(other), /^HTTP\/1\.1 200 /, "the other kept");
    } finally {
      third.close();
    }
  } finally {
    stopped.abort();
    other?.close();
  }
  assert.equal(server.stats.reclaimed, 1);
});
