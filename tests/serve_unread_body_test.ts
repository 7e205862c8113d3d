/**
 * Bodies left unread by their answer under `deno serve` (serve.ts), whose
 * client goes on sending: a route's 404 and 405, a write refused before
 * its body (415) or part way through it (413 past 64 KiB), an upload
 * refused at its token (401). No connection set runs there to close the
 * connection after the answer, and the runtime read each such body to its
 * end, for as long as the client sent: the connections were all still
 * open after 15 s (Python `requests`, which reads no answer before its
 * body is sent, had no answer at all). Now the body is cancelled a linger
 * (2 s) after the answer (services/http/answered_body.ts), and the
 * connection closes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveOnUpstream } from "./fixtures/upstream_service.ts";
import { untilClosed } from "./fixtures/until_closed.ts";

const encoder = new TextEncoder();

const REFUSED = [
  ["POST /nothing/here", "application/json", "404"],
  ["POST /users/1/summary", "application/json", "405"],
  ["POST /posts", "application/x-www-form-urlencoded", "415"],
  ["PUT /posts/1", "application/json", "413"],
  ["POST /files", "application/octet-stream", "401"],
] as const;

/**
 * A body sent 16 KiB at a time, for as long as the server takes it:
 * chunked, or (`length`) raw under that `Content-Length`.
 */
async function sending(
  url: string,
  target: string,
  type: string,
  length?: number,
) {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(new URL(url).port),
  });
  const framing = length === undefined
    ? "transfer-encoding: chunked"
    : `content-length: ${length}`;
  await conn.write(encoder.encode(
    `${target} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\n` +
      `${framing}\r\n\r\n`,
  ));
  const piece = length === undefined
    ? encoder.encode(`4000\r\n${"a".repeat(16384)}\r\n`)
    : encoder.encode("a".repeat(16384));
  let stopped = false;
  // Until the connection is closed (the write then fails) or the test
  // ends; paced as a slow uplink, so that the code before, which read
  // every piece as it came, did not spin a core for the 15 s.
  const writing = (async () => {
    while (!stopped) {
      await conn.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })().catch(() => {});
  return {
    conn,
    stop: () => {
      stopped = true;
      return writing;
    },
  };
}

Deno.test("deno serve: bodies left unread by their answer, still being sent, have their connections closed after the answer", async () => {
  await using started = await serveOnUpstream(
    { UPLOAD_TOKEN: "a-token-of-sixteen-or-more" },
    "serve_unread_body-",
  );
  const clients = await Promise.all(
    REFUSED.map(([target, type]) => sending(started.served.url, target, type)),
  );
  try {
    const ends = await Promise.all(
      clients.map(({ conn }) => untilClosed(conn, 15_000)),
    );
    ends.forEach((end, i) => {
      const [target, , status] = REFUSED[i]!;
      assert.match(end.text, new RegExp(`^HTTP/1.1 ${status} `), target);
      // Before: still open after 15 s, the body read as it came.
      assert.equal(end.open, false, `${target} still open`);
    });
  } finally {
    await Promise.all(clients.map((client) => client.stop()));
  }
  assert.equal(started.upstream.requests.length, 0);
});

// Methods whose routes read no body, sent with a long one (README row
// "Connection: close on an upload answered early").
const BODILESS = [
  ["DELETE /files/nothing-here", "404", undefined],
  ["DELETE /files/nothing-here", "404", 100_000_000_000],
  ["OPTIONS /posts/1", "204", undefined],
  ["OPTIONS /posts/1", "204", 100_000_000_000],
] as const;

Deno.test("deno serve: a DELETE or OPTIONS sent with a long body (chunked, or a Content-Length over 1 KiB) is answered, then its connection closed", async () => {
  await using started = await serveOnUpstream({}, "serve_unread_body-");
  const clients = await Promise.all(
    BODILESS.map(([target, , length]) =>
      sending(started.served.url, target, "application/json", length)
    ),
  );
  try {
    const ends = await Promise.all(
      clients.map(({ conn }) => untilClosed(conn, 15_000)),
    );
    ends.forEach((end, i) => {
      const [target, status, length] = BODILESS[i]!;
      const what = `${target} (${length ?? "chunked"})`;
      assert.match(
        end.text,
        new RegExp(`^HTTP/1.1 ${status} `),
        `${what}: ${end.text.slice(0, 300)}`,
      );
      assert.match(end.text, /\r\nconnection: close\r\n/i, what);
      // Before: still open after 15 s, the runtime reading the body.
      assert.equal(end.open, false, `${what} still open`);
    });
  } finally {
    await Promise.all(clients.map((client) => client.stop()));
  }
});
