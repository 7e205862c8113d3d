/**
 * A `GET` announcing a long body, over h2c (prior knowledge), on a
 * connection with other streams. The connection set closed an HTTP/1.1
 * connection a linger (2 s) after such an answer, and took an HTTP/2
 * connection for one too: the whole connection was closed, with no GOAWAY,
 * and every stream on it with it (Node's http2 client: the session closed
 * 2 s after the answer). The runtime already resets the stream itself
 * once its answer is out (RST_STREAM NO_ERROR), so an HTTP/2 connection is
 * now never closed for it (services/server/connection_set.ts).
 *
 * The client is Node's `http2`, run by `node` as a child process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnOnUpstream } from "./fixtures/upstream_service.ts";
import { runTool } from "./fixtures/tool.ts";

/**
 * Stream A: `GET /healthz` announcing 100 MB, a piece of it sent; once A
 * is answered and closed, an HTTP/1.1 connection sends the same kind of
 * request (`GET /healthz` with a chunked body, a byte every 100 ms) and
 * waits for the service to close it: its linger, started after A's, ends
 * after A's would have (an event, rather than a sleep). Then stream B on
 * the same session. Prints one JSON line.
 */
const CLIENT = `
const http2 = require("node:http2");
const net = require("node:net");
const [base] = process.argv.slice(1);
const port = Number(new URL(base).port);
const seen = { goaway: false, closed: false, a: 0, aReset: null, dripClosed: false, b: 0 };
const session = http2.connect(base);
session.on("goaway", () => seen.goaway = true);
session.on("close", () => seen.closed = true);
session.on("error", () => {});
function done() {
  console.log(JSON.stringify(seen));
  session.destroy();
}
function drip() {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write("GET /healthz HTTP/1.1\\r\\nhost: x\\r\\ntransfer-encoding: chunked\\r\\n\\r\\n");
    });
    const timer = setInterval(() => socket.write("1\\r\\na\\r\\n"), 100);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => { clearInterval(timer); resolve(); });
  });
}
const a = session.request({ ":method": "GET", ":path": "/healthz", "content-length": "100000000" }, { endStream: false });
a.on("response", (h) => seen.a = h[":status"]);
a.on("data", () => {});
a.on("error", () => {});
a.write(Buffer.alloc(16384, 97));
a.on("close", async () => {
  seen.aReset = a.rstCode;
  await drip();
  seen.dripClosed = true;
  if (session.closed || session.destroyed) return done();
  const b = session.request({ ":path": "/healthz" });
  b.on("response", (h) => seen.b = h[":status"]);
  b.on("data", () => {});
  b.on("error", () => {});
  b.on("close", done);
});
`;

Deno.test("a GET announcing a body over h2c: its stream is reset, the connection and its other streams are left alone", async () => {
  await using started = await spawnOnUpstream({ prefix: "h2c_unread_body-" });
  const out = await runTool("node", ["-e", CLIENT, started.service.url], {
    install: "apt-get install -y nodejs",
  });
  assert.equal(out.code, 0, out.stderr);
  const seen = JSON.parse(out.stdout);
  assert.equal(seen.a, 200, out.stdout);
  assert.equal(seen.dripClosed, true, out.stdout);
  // Before: the session closed ~2 s after A's answer, no GOAWAY, and B
  // was never sent.
  assert.equal(seen.closed, false, out.stdout);
  assert.equal(seen.goaway, false, out.stdout);
  assert.equal(seen.b, 200, out.stdout);
});
