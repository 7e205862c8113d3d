/**
 * A request that takes no body (`GET`, `HEAD`, `DELETE`, `OPTIONS`) sent
 * with one anyway. Deno 2.9.6 answers it with `Connection: close`, then
 * reads the body to its end before it closes: a `GET` declaring 100 GB and
 * sent as fast as loopback goes had ~10 GB discarded in 8 s on its one
 * connection, a core busy, until `KEEPALIVE_TIMEOUT_MS` (75 s). The server
 * now closes such a connection once the client had time to read the
 * answer, as for a refused upload; a tiny body sent with the head (some
 * clients send `{}` with a `GET`) still leaves the connection kept alive.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  announcesLongBody,
  DISCARDED_BODY_BYTES,
} from "../services/http/body_framing.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { firstLine, untilClosed } from "./fixtures/until_closed.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const encoder = new TextEncoder();

const TARGETS = [
  ["GET /posts/1", "200"],
  ["HEAD /posts/1", "200"],
  ["DELETE /posts/1", "200"],
  ["OPTIONS /posts/1", "204"],
  ["GET /nothing/here", "404"],
] as const;

/**
 * Sends `target` with a head declaring `framing`, then zeros as fast as
 * the connection takes them until it fails; `stop` ends the writing.
 */
async function flooding(port: number, target: string, framing: string) {
  const conn = await Deno.connect({ port });
  await conn.write(
    encoder.encode(`${target} HTTP/1.1\r\nhost: x\r\n${framing}\r\n\r\n`),
  );
  const zeros = new Uint8Array(65_536);
  let stopped = false;
  const writing = (async () => {
    while (!stopped) await conn.write(zeros);
  })().catch(() => {});
  return {
    conn,
    stop: async () => {
      stopped = true;
      await writing;
    },
  };
}

/** A service on the fixture upstream, and its port. */
async function withService(run: (port: number) => Promise<void>) {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    await run(Number(new URL(service.url).port));
  });
}

Deno.test("a request that takes no body, sent with an endless one: answered, then its connection closed", async () => {
  await withService(async (port) => {
    const clients = await Promise.all(
      TARGETS.map(([target]) =>
        flooding(port, target, "content-length: 100000000000")
      ),
    );
    try {
      const ends = await Promise.all(
        clients.map(({ conn }) => untilClosed(conn, 15_000)),
      );
      ends.forEach((end, i) => {
        const [target, status] = TARGETS[i]!;
        assert.match(end.text, new RegExp(`^HTTP/1.1 ${status} `), target);
        assert.match(end.text, /\r\nconnection: close\r\n/i, target);
        // Before: still open after 15 s (the body read on until 75 s).
        assert.equal(end.open, false, `${target} still open`);
      });
    } finally {
      await Promise.all(clients.map((client) => client.stop()));
    }
  });
});

Deno.test("a GET with a chunked body dripped on: answered, then its connection closed", async () => {
  await withService(async (port) => {
    const conn = await Deno.connect({ port });
    await conn.write(encoder.encode(
      "GET /posts/1 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
    ));
    const timer = setInterval(() => {
      conn.write(encoder.encode("1\r\na\r\n")).catch(() =>
        clearInterval(timer)
      );
    }, 250);
    try {
      const end = await untilClosed(conn, 15_000);
      assert.match(end.text, /^HTTP\/1.1 200 /);
      assert.equal(end.open, false, "still open");
    } finally {
      clearInterval(timer);
    }
  });
});

Deno.test("a GET with a tiny body sent whole keeps its connection for the next request", async () => {
  await withService(async (port) => {
    const conn = await Deno.connect({ port });
    await conn.write(encoder.encode(
      "GET /posts/1 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
        "content-length: 2\r\n\r\n{}",
    ));
    assert.match(await firstLine(conn), /^HTTP\/1.1 200 /);
    // A connection whose answer came after ours, with a long body left
    // unread, closed by its linger: ours, had it been lingering too (the
    // same LINGER_MS from an earlier answer), would have been closed first.
    const later = await Deno.connect({ port });
    await later.write(encoder.encode(
      "GET /posts/1 HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n{}",
    ));
    const lingered = await untilClosed(later, 15_000);
    assert.match(lingered.text, /^HTTP\/1.1 200 /);
    assert.equal(
      lingered.open,
      false,
      "the long body's connection lingered on",
    );
    // Then a second request on ours.
    await conn.write(encoder.encode(
      "GET /posts/2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ));
    const end = await untilClosed(conn, 10_000);
    assert.match(end.text, /HTTP\/1.1 200 OK[^]*"id": 2/);
  });
});

Deno.test("a GET with a 4 KB body sent whole: the runtime's close, and the next request pipelined after it is not served", async () => {
  await withService(async (port) => {
    const conn = await Deno.connect({ port });
    await conn.write(encoder.encode(
      "GET /posts/1 HTTP/1.1\r\nhost: x\r\ncontent-length: 4000\r\n\r\n" +
        "a".repeat(4000) + "GET /posts/2 HTTP/1.1\r\nhost: x\r\n\r\n",
    ));
    const end = await untilClosed(conn, 10_000);
    assert.match(end.text, /^HTTP\/1.1 200 /);
    assert.match(end.text, /\r\nconnection: close\r\n/i);
    assert.equal(end.text.match(/HTTP\/1.1 /g)?.length, 1);
  });
});

Deno.test("announcesLongBody: chunked, or a Content-Length over DISCARDED_BODY_BYTES", () => {
  const announces = (init: Record<string, string>) =>
    announcesLongBody(new Headers(init));
  assert.equal(announces({}), false);
  assert.equal(announces({ "content-length": "2" }), false);
  assert.equal(
    announces({ "content-length": String(DISCARDED_BODY_BYTES) }),
    false,
  );
  assert.equal(
    announces({ "content-length": String(DISCARDED_BODY_BYTES + 1) }),
    true,
  );
  assert.equal(announces({ "content-length": "100000000000" }), true);
  assert.equal(announces({ "transfer-encoding": "chunked" }), true);
  // No length it says: the runtime refuses such a head before any handler.
  assert.equal(announces({ "content-length": "abc" }), false);
});
