/**
 * Percent-encoded unreserved characters in the path are the characters
 * (RFC 3986 6.2.2.2): `/posts/%31` is `/posts/1`, `/%70osts` is `/posts`,
 * routed, cached and asked upstream as such; other escapes stay as they
 * are, so `%2F` never becomes a path separator. Before, `/posts/%31`
 * answered 400 (the id `%31` is not a number) and `/%70osts/1` 404.
 *
 * @module
 */

import assert from "node:assert/strict";
import { unreservedDecoded } from "../services/http/request_target.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("unreservedDecoded decodes escapes of unreserved characters only, either hex case", () => {
  assert.equal(unreservedDecoded("/posts/%31"), "/posts/1");
  assert.equal(unreservedDecoded("/%70osts/%31%30"), "/posts/10");
  assert.equal(unreservedDecoded("/%41%5a%61%7A%2D%2e%5F%7e"), "/AZaz-._~");
  for (
    const kept of ["/posts%2F1", "/a%2f", "/a%20b", "/a%25", "/%3F", "/%C3%BC"]
  ) {
    assert.equal(unreservedDecoded(kept), kept);
  }
  // Decoded once: %2531 is "%31", not "1".
  assert.equal(unreservedDecoded("/posts/%2531"), "/posts/%2531");
  assert.equal(unreservedDecoded("/p%3"), "/p%3");
});

Deno.test("GET /posts/%31 and /%70osts/1 are /posts/1; /posts%2F1 is not", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const plain = await fetch(`${served.url}/posts/1`);
  assert.equal(plain.status, 200);
  const body = await plain.json();
  for (const path of ["/posts/%31", "/%70osts/1", "/%70%6F%73%74%73/%31"]) {
    const res = await fetch(`${served.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.deepEqual(await res.json(), body, path);
    // The same entry: served from the cache.
    assert.match(res.headers.get("cache-status") ?? "", /hit/, path);
  }
  for (const path of ["/posts%2F1", "/posts%2f1", "/posts/%2F1"]) {
    const res = await fetch(`${served.url}${path}`);
    assert.notEqual(res.status, 200, path);
    await res.body?.cancel();
  }
});
