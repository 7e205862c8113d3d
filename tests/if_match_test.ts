/**
 * `If-Match` on the service's own tagged answers (RFC 9110 13.1.1, 13.2.2):
 * a cached post or list, a user's summary and `/openapi.json` answer 412
 * problem+json with the current `ETag` when the header names another
 * version, and as usual when it names this one or says `*`. Before, only
 * stored files honoured it: a cached `GET /posts/1` with a stale `If-Match`
 * was a 200, so a client guarding a read-modify-write with it read on.
 * A client that takes gzip and names the strong tag gets the identity
 * bytes under it: before, gzip bytes under `W/"x"` for `If-Match: "x"`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const PATHS = [
  "/posts/1",
  "/posts?userId=1",
  "/users/1/summary",
  "/openapi.json",
];

/**
 * The status, ETag, content type and body of `path` under `headers`,
 * uncompressed: a compressed answer's tag is weak (`W/`), which no
 * `If-Match` matches.
 */
async function head(
  base: string,
  path: string,
  headers: Record<string, string>,
) {
  const res = await fetch(base + path, {
    headers: { "accept-encoding": "identity", ...headers },
  });
  const body = await res.text();
  return {
    status: res.status,
    etag: res.headers.get("etag"),
    type: res.headers.get("content-type"),
    coding: res.headers.get("content-encoding"),
    body,
  };
}

Deno.test("If-Match naming another version is a 412 with the current ETag; its own tag or * is served", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  for (const path of PATHS) {
    const ok = await head(served.url, path, {});
    assert.equal(ok.status, 200, path);
    assert.ok(ok.etag?.startsWith('"'), `${path}: a strong tag`);

    const stale = await head(served.url, path, { "if-match": '"stale"' });
    assert.equal(stale.status, 412, path);
    assert.equal(stale.type, "application/problem+json", path);
    assert.equal(stale.etag, ok.etag, `${path}: the 412 names the current tag`);
    assert.equal(JSON.parse(stale.body).status, 412, path);

    for (const tag of [ok.etag!, "*", `"other", ${ok.etag}`]) {
      const same = await head(served.url, path, { "if-match": tag });
      assert.equal(same.status, 200, `${path} with If-Match: ${tag}`);
      assert.equal(same.body, ok.body, path);
    }
    // A weak tag never matches strongly (RFC 9110 8.8.3.2), so neither
    // does the tag of a compressed answer.
    const weak = await head(served.url, path, { "if-match": `W/${ok.etag}` });
    assert.equal(weak.status, 412, `${path} with a weak tag`);
    const gzip = await head(served.url, path, {
      "accept-encoding": "gzip",
      "if-match": ok.etag!,
    });
    // The representation If-Match named (strongly) is the one sent: the
    // identity bytes under their strong tag, not a gzip copy's weak tag.
    assert.equal(gzip.status, 200, `${path}: served under the identity's tag`);
    assert.equal(gzip.etag, ok.etag, `${path}: the tag If-Match named`);
    assert.equal(gzip.coding, null, `${path}: the identity bytes`);
    assert.equal(gzip.body, ok.body, path);
    const any = await head(served.url, path, {
      "accept-encoding": "gzip",
      "if-match": "*",
    });
    assert.equal(any.coding, "gzip", `${path}: If-Match: * takes any coding`);
    assert.equal(any.etag, `W/${ok.etag}`, path);
  }
});

Deno.test("If-Match is judged before If-None-Match, and a cached 404 ignores both", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const ok = await head(served.url, "/posts/1", {});
  const both = await head(served.url, "/posts/1", {
    "if-match": '"stale"',
    "if-none-match": ok.etag!,
  });
  assert.equal(both.status, 412);
  const revalidated = await head(served.url, "/posts/1", {
    "if-match": ok.etag!,
    "if-none-match": ok.etag!,
  });
  assert.equal(revalidated.status, 304);
  const gzip = await head(served.url, "/posts/1", {
    "accept-encoding": "gzip",
    "if-match": ok.etag!,
    "if-none-match": ok.etag!,
  });
  assert.equal(gzip.status, 304);
  assert.equal(gzip.etag, ok.etag, "the 304 of the representation named");
  // RFC 9110 13.2.1: preconditions apply only where the answer would be 2xx.
  const missing = await head(served.url, "/posts/9999", { "if-match": "*" });
  assert.equal(missing.status, 404);
});
