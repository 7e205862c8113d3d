/**
 * A body that arrives whole but does not decode by its `Content-Encoding`
 * (a corrupt gzip) is the upstream's bad answer, not a broken connection:
 * one attempt, a 502 problem that says so, one failure for the circuit
 * breaker. It was taken for a broken connection and tried three times, so
 * one bad answer counted three failures (with a threshold of 2, the
 * breaker opened and the next, healthy path was 503).
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";

/** `json` gzipped, with bytes of its compressed data turned over. */
async function corruptGzip(json: string): Promise<Uint8Array<ArrayBuffer>> {
  const gzipped = await new Response(
    new Blob([json]).stream().pipeThrough(new CompressionStream("gzip")),
  ).bytes();
  // Past the 10-byte header, short of the 8-byte trailer: the deflate data.
  for (let i = 12; i < gzipped.length - 10; i++) gzipped[i]! ^= 0x5a;
  return gzipped;
}

/**
 * A loopback upstream answering `/posts/1` with a corrupt gzip body (whole,
 * with its Content-Length), and `{"id":N}` to any other `/posts/N`.
 */
async function startCorruptUpstream() {
  const corrupt = await corruptGzip(JSON.stringify({ id: 1, title: "x" }));
  const hits = new Map<string, number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const { pathname } = new URL(req.url);
      hits.set(pathname, (hits.get(pathname) ?? 0) + 1);
      const headers = { "content-type": "application/json; charset=utf-8" };
      if (pathname === "/posts/1") {
        return new Response(corrupt, {
          headers: { ...headers, "content-encoding": "gzip" },
        });
      }
      const id = Number(pathname.split("/").at(-1));
      return new Response(JSON.stringify({ id }), { headers });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: (path: string) => hits.get(path) ?? 0,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("a corrupt gzip body from the upstream: one attempt, a 502 naming it, one breaker failure", async () => {
  await using upstream = await startCorruptUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-breaker-threshold",
    "2",
  ]);
  const res = await t.get("/posts/1");
  const body = await res.json();
  assert.equal(res.status, 502, JSON.stringify(body));
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.match(body.detail, /does not decode as its Content-Encoding \(gzip\)/);
  assert.equal(upstream.hits("/posts/1"), 1, "not retried");
  // One failure of two: the breaker lets the next call through.
  const next = await t.get("/posts/2");
  assert.equal(next.status, 200, await next.text());
  assert.equal(upstream.hits("/posts/2"), 1);
});
