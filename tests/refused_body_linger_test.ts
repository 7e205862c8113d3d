/**
 * Requests with a body refused before it is read (a write's 415, the
 * router's 404 and 405, a bad id's 400) whose client goes on sending the
 * body a byte at a time (`slowhttptest -B` against `POST /posts`, which
 * sends a form). The runtime waits for the body's end before it closes a
 * connection, so each such connection was held until KEEPALIVE_TIMEOUT_MS
 * after the answer (75 s): slowhttptest -B -c 1000 kept all 1000 open for
 * its whole run. Now, as for a refused upload, the connection is closed a
 * couple of seconds after the answer went out.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { firstLine, untilClosed } from "./fixtures/until_closed.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const encoder = new TextEncoder();

const REFUSED = [
  ["POST /posts", "application/x-www-form-urlencoded", "415"],
  ["POST /posts", "application/json; charset=latin1", "415"],
  ["POST /nothing/here", "application/json", "404"],
  ["POST /users/1/summary", "application/json", "405"],
  ["PUT /posts/abc", "application/json", "400"],
] as const;

/** Sends a head declaring 60,000 bytes, then one byte every 250 ms. */
async function dripping(port: number, target: string, type: string) {
  const conn = await Deno.connect({ port });
  await conn.write(encoder.encode(
    `${target} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\n` +
      "content-length: 60000\r\n\r\n{",
  ));
  const timer = setInterval(() => {
    conn.write(encoder.encode("a")).catch(() => clearInterval(timer));
  }, 250);
  return { conn, stop: () => clearInterval(timer) };
}

Deno.test("a body refused unread and dripped on: the connection is closed after the answer, not held until the keep-alive timeout", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    const port = Number(new URL(service.url).port);
    const clients = await Promise.all(
      REFUSED.map(([target, type]) => dripping(port, target, type)),
    );
    try {
      const ends = await Promise.all(
        clients.map(({ conn }) => untilClosed(conn, 15_000)),
      );
      ends.forEach((end, i) => {
        const [target, type, status] = REFUSED[i]!;
        assert.match(end.text, new RegExp(`^HTTP/1.1 ${status} `), target);
        // The answer says the connection ends.
        assert.match(end.text, /\r\nconnection: close\r\n/i, target);
        // Before: still open after 15 s (closed at 75 s).
        assert.equal(end.open, false, `${target} (${type}) still open`);
      });
    } finally {
      for (const client of clients) client.stop();
    }
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("a write whose JSON body was read and refused keeps its connection for the next request", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    const port = Number(new URL(service.url).port);
    const conn = await Deno.connect({ port });
    const body = "[1]";
    await conn.write(encoder.encode(
      "POST /posts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
        `content-length: ${body.length}\r\n\r\n${body}`,
    ));
    // The 400 for a body that is no object.
    assert.match(await firstLine(conn), /^HTTP\/1.1 400 /);
    // A body refused unread on another connection, answered after this
    // one: once the linger (2 s) has closed it, it would have closed this
    // one too, had this one lingered. An event, rather than a sleep.
    const dripped = await dripping(
      port,
      "POST /nothing/here",
      "application/json",
    );
    try {
      const end = await untilClosed(dripped.conn, 15_000);
      assert.match(end.text, /^HTTP\/1.1 404 /);
      assert.equal(end.open, false, "the dripped connection still open");
    } finally {
      dripped.stop();
    }
    // This one is still kept alive, and serves a second request.
    await conn.write(encoder.encode(
      "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ));
    const end = await untilClosed(conn, 10_000);
    assert.match(end.text, /HTTP\/1.1 200 OK/);
  });
});

/** Sends a head declaring 500 MB, then 64 KiB pieces as fast as they go. */
async function flooding(port: number, target: string) {
  const conn = await Deno.connect({ port });
  await conn.write(encoder.encode(
    `${target} HTTP/1.1\r\nhost: x\r\n` +
      "content-type: application/octet-stream\r\n" +
      "content-length: 500000000\r\n\r\n",
  ));
  const piece = new Uint8Array(65_536);
  const sending = (async () => {
    try {
      for (;;) await conn.write(piece);
    } catch {
      // closed by the service
    }
  })();
  return { conn, sending };
}

Deno.test("a body refused unread, still arriving fast: its connection outlives the answer by the linger", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    const port = Number(new URL(service.url).port);
    // Each closed with its answer 6 times in 10 before: three tries.
    for (
      const target of ["PUT /posts/1", "POST /nothing/here", "PUT /posts/1"]
    ) {
      const { conn, sending } = await flooding(port, target);
      assert.match(await firstLine(conn), /^HTTP\/1.1 (415|404) /, target);
      let closed = false;
      const end = untilClosed(conn, 15_000).then((end) => {
        closed = true;
        return end;
      });
      // Three answers on other connections, each a few milliseconds: the
      // linger (2 s) outlasts them. Reading the body to see whether it
      // ended made the per-connection server close it with the answer
      // (6 of 10), and curl -T, still sending, lost its 415 to the reset.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${service.url}/healthz`);
        await res.body?.cancel();
      }
      assert.equal(closed, false, `${target}: closed with its answer`);
      assert.equal((await end).open, false, `${target} still open`);
      await sending;
    }
  });
});
