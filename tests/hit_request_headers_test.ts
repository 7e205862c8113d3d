/**
 * A memory hit follows the request's own headers, which the request
 * context (routes/pipeline.ts) reads once and the layers after routing
 * (the cache's answer, the compressor, CORS) take from it rather than from
 * the `Request` again: a matching `If-None-Match` gets 304,
 * `Accept-Encoding` the coding and the weak tag, `Origin` the CORS
 * headers, `X-Request-Id` its echo, `HEAD` the head of the GET. Requests
 * of each kind alternate on the warm path, so nothing of one request's
 * headers may carry over to the next.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Sent {
  method?: string;
  headers: Record<string, string>;
}

interface Seen {
  status: number;
  headers: Headers;
  body: string;
}

async function send(url: string, sent: Sent): Promise<Seen> {
  const res = await fetch(url, {
    method: sent.method ?? "GET",
    headers: sent.headers,
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

Deno.test("a memory hit answers each request by its own If-None-Match, Accept-Encoding, Origin, X-Request-Id and method", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const url = `${served.url}/posts/1`;
  const first = await send(url, { headers: { "accept-encoding": "identity" } });
  assert.equal(first.status, 200);
  const strong = first.headers.get("etag")!;
  assert.ok(strong.startsWith('"'), strong);
  const hitsBefore = upstream.hits("/posts/1");

  for (let round = 0; round < 3; round++) {
    const plain = await send(url, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(plain.status, 200);
    assert.equal(plain.body, first.body);
    assert.equal(plain.headers.get("etag"), strong);
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("access-control-allow-origin"), null);
    assert.equal(plain.headers.get("vary"), "Accept-Encoding, Origin");
    assert.match(plain.headers.get("x-request-id")!, UUID);
    assert.match(plain.headers.get("cache-status")!, /; hit;/);

    const id = `round-${round}`;
    const coded = await send(url, {
      headers: {
        "accept-encoding": "gzip",
        origin: "http://page.example",
        "x-request-id": id,
      },
    });
    assert.equal(coded.status, 200);
    assert.equal(coded.body, first.body);
    assert.equal(coded.headers.get("content-encoding"), "gzip");
    assert.equal(coded.headers.get("etag"), `W/${strong}`);
    assert.equal(coded.headers.get("access-control-allow-origin"), "*");
    assert.equal(coded.headers.get("x-request-id"), id);

    const notModified = await send(url, {
      headers: { "accept-encoding": "identity", "if-none-match": strong },
    });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get("etag"), strong);

    const weakNotModified = await send(url, {
      headers: { "accept-encoding": "gzip", "if-none-match": `W/${strong}` },
    });
    assert.equal(weakNotModified.status, 304);
    assert.equal(weakNotModified.headers.get("etag"), `W/${strong}`);

    const other = await send(url, {
      headers: { "accept-encoding": "identity", "if-none-match": '"other"' },
    });
    assert.equal(other.status, 200);
    assert.equal(other.body, first.body);

    const head = await send(url, {
      method: "HEAD",
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers.get("content-encoding"), "gzip");
    assert.equal(head.headers.get("etag"), `W/${strong}`);
  }
  // All of them answered from memory.
  assert.equal(upstream.hits("/posts/1"), hitsBefore);
});

Deno.test("a request's no-cache, max-age=0 or Pragma is served from the cache (README: request directives are not honoured)", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const url = `${served.url}/posts/1`;
  const first = await send(url, { headers: {} });
  assert.equal(first.status, 200);
  const hitsBefore = upstream.hits("/posts/1");
  for (
    const headers of [
      { "cache-control": "no-cache" },
      { "cache-control": "max-age=0" },
      { pragma: "no-cache" },
    ]
  ) {
    const seen = await send(url, { headers });
    assert.equal(seen.status, 200);
    assert.equal(seen.body, first.body);
    assert.match(seen.headers.get("cache-status")!, /; hit;/);
  }
  assert.equal(upstream.hits("/posts/1"), hitsBefore);
});
