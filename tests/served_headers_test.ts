/**
 * A memory hit reads the request's headers without making its `Headers`
 * object (services/http/served_headers.ts): in Deno 2.9.6 a handler that
 * made it has its answer copied and sent through two promise reactions.
 * Whether a request's `Headers` was made is read from the runtime's own
 * cache slot of it (`headers cache`); the test fails, not skips, when this
 * runtime has none.
 *
 * @module
 */

import assert from "node:assert/strict";
import { servedHeaders } from "../services/http/served_headers.ts";
import { silentLogger } from "../services/ops/logger.ts";
import { serveGuarded } from "../services/server/http_server.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const HEADERS_CACHE = Object.getOwnPropertySymbols(
  new Request("http://localhost/"),
).find((key) => key.description === "headers cache");

/** Whether `req.headers` has been made (read by someone). */
function headersMade(req: Request): boolean {
  assert.ok(HEADERS_CACHE !== undefined, "no `headers cache` slot on Request");
  return (req as unknown as Record<symbol, unknown>)[HEADERS_CACHE] !==
    undefined;
}

Deno.test("a memory hit's answer is given without the request's Headers being made", async () => {
  await using upstream = startFixtureUpstream();
  const made: string[] = [];
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
    around: (fetch) => (req, info) => {
      const answer = fetch(req, info);
      if (!(answer instanceof Response)) made.push("a promise");
      else made.push(headersMade(req) ? "Headers made" : "direct");
      return answer;
    },
  });
  const url = `${served.url}/posts/1`;
  const first = await fetch(url);
  const etag = first.headers.get("etag")!;
  await first.body?.cancel();
  made.length = 0;
  // The first gzip answer is compressed asynchronously (a promise); the
  // variant is kept, and answered at once from then on.
  const gzipped = await fetch(url, { headers: { "accept-encoding": "gzip" } });
  assert.equal(gzipped.headers.get("content-encoding"), "gzip");
  await gzipped.body?.cancel();
  made.length = 0;
  const asked: [string, Record<string, string>][] = [
    ["GET", {}],
    ["GET", { "accept-encoding": "identity", origin: "http://page.example" }],
    ["GET", { "x-request-id": "hit-1", "if-none-match": etag }],
    ["GET", { "if-none-match": '"other"', "accept-encoding": "identity" }],
    ["HEAD", {}],
    ["GET", { "accept-encoding": "gzip" }],
    ["GET", { "accept-encoding": "gzip", "if-none-match": etag }],
  ];
  for (const [method, headers] of asked) {
    const res = await fetch(url, { method, headers });
    assert.ok(res.status === 200 || res.status === 304, `${res.status}`);
    assert.match(res.headers.get("cache-status")!, /; hit;/);
    await res.body?.cancel();
  }
  assert.deepEqual(made, asked.map(() => "direct"));
});

/** One `GET /` on a new connection to `port`, and its whole answer. */
async function askOnNewConnection(port: number): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
  );
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.endsWith("\r\n\r\nok")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return text;
}

Deno.test("the connection layer tells HTTP/2 from a connection's first request without making its Headers", async () => {
  const made: boolean[] = [];
  await using server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    // Read once the layer has handed the answer back to the runtime.
    handler: (req) => {
      queueMicrotask(() => made.push(headersMade(req)));
      return new Response("ok");
    },
    logger: silentLogger,
  });
  for (let i = 0; i < 3; i++) {
    assert.match(
      await askOnNewConnection(server.addr.port),
      /^HTTP\/1\.1 200 /,
    );
  }
  assert.deepEqual(made, [false, false, false]);
});

Deno.test("servedHeaders reads a served request's headers as req.headers does, and is req.headers for one made here", async () => {
  const seen: [string | null, string | null, boolean][] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const view = servedHeaders(req);
      const names = ["host", "x-one", "x-two", "accept", "absent"];
      const viewed = names.map((name) => [view.get(name), view.has(name)]);
      names.forEach((name, i) =>
        seen.push([
          viewed[i]![0] as string | null,
          req.headers.get(name),
          [
            ...view.keys(),
          ].includes(name) === viewed[i]![1],
        ])
      );
      return new Response("ok");
    },
  );
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
    headers: { "X-One": "1", "x-two": "a, b", accept: "*/*" },
  });
  assert.equal(await res.text(), "ok");
  for (const [fromView, fromHeaders, hasAgrees] of seen) {
    assert.equal(fromView, fromHeaders);
    assert.ok(hasAgrees);
  }
  assert.equal(seen[1]![0], "1");
  const made = new Request("http://localhost/", { headers: { "x-a": "1" } });
  assert.equal(servedHeaders(made), made.headers);
});
