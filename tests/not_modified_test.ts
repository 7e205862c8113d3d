/**
 * A 304 carries what its 200 would (RFC 9110 15.4.5): `ETag`, `Vary`,
 * `Cache-Control`, `Date`. A cache revalidating its copy takes those
 * headers over (RFC 9111 4.3.4), so a 304 with the strong tag of the
 * identity bytes turned a stored gzip copy into gzip bytes under that
 * strong tag (seen with Varnish), and one with `Vary: Accept-Encoding`
 * changed how a stored download is matched.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const CODINGS = ["identity", "gzip", "gzip, deflate, br"];
const CARRIED = ["etag", "vary", "cache-control"];

/** The 200 to `path` with `coding`, then its revalidation: the heads. */
async function pair(base: string, path: string, coding: string) {
  const ok = await fetch(base + path, {
    headers: { "accept-encoding": coding },
  });
  await ok.body?.cancel();
  assert.equal(ok.status, 200, path);
  const notModified = await fetch(base + path, {
    headers: {
      "accept-encoding": coding,
      "if-none-match": ok.headers.get("etag")!,
    },
  });
  assert.equal(notModified.status, 304, `${path} (${coding})`);
  return { ok: ok.headers, notModified: notModified.headers };
}

function assertCarries(
  heads: { ok: Headers; notModified: Headers },
  label: string,
): void {
  for (const name of CARRIED) {
    assert.equal(
      heads.notModified.get(name),
      heads.ok.get(name),
      `${label}: the 304's ${name} differs from the 200's`,
    );
  }
  assert.ok(heads.notModified.get("date"), `${label}: the 304 has no Date`);
}

Deno.test("a 304 carries the ETag, Vary and Cache-Control of its 200, whatever the coding", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  // A post, a list too short to compress ([]), a summary, the document.
  const paths = [
    "/posts/1",
    "/posts?userId=999",
    "/users/1/summary",
    "/openapi.json",
  ];
  for (const path of paths) {
    for (const coding of CODINGS) {
      const heads = await pair(served.url, path, coding);
      assertCarries(heads, `${path} (${coding})`);
      // Gzip and identity bytes never share a strong tag.
      assert.equal(
        heads.ok.get("etag")!.startsWith("W/"),
        coding !== "identity",
        `${path} (${coding}): ${heads.ok.get("etag")}`,
      );
    }
  }
});

Deno.test("a stored file's 304 carries the Vary and strong ETag of its download", async () => {
  await using served = await serveApp({});
  const text = "a stored file is sent as stored, never recoded\n".repeat(64);
  const created = await fetch(`${served.url}/files`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: text,
  });
  assert.equal(created.status, 201);
  const { id } = await created.json() as { id: string };
  for (const coding of CODINGS) {
    const heads = await pair(served.url, `/files/${id}`, coding);
    assertCarries(heads, `/files/${id} (${coding})`);
    assert.doesNotMatch(heads.ok.get("vary") ?? "", /accept-encoding/i);
    assert.match(heads.ok.get("etag")!, /^"/);
  }
});
