/**
 * `DELETE /files/:id` honours RFC 9110 preconditions (13.1.1, 13.1.4,
 * 13.2.2): a false `If-Match`, `If-Unmodified-Since` or `If-None-Match`
 * is 412 and the file stays; a true one deletes. On main the DELETE ignored
 * them: `If-Match: "x"` deleted the file (204), so a client could not
 * delete "only the file I know" (lost-update protection).
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatHttpDate } from "../services/http/conditional.ts";
import { serveApp } from "./fixtures/served_app.ts";

async function upload(base: string): Promise<{ url: string; etag: string }> {
  const res = await fetch(`${base}/files`, {
    method: "POST",
    body: crypto.getRandomValues(new Uint8Array(1000)),
  });
  const stored = await res.json() as { id: string; sha256: string };
  assert.equal(res.status, 201);
  return { url: `${base}/files/${stored.id}`, etag: `"${stored.sha256}"` };
}

async function status(url: string, init?: RequestInit): Promise<number> {
  const res = await fetch(url, init);
  await res.body?.cancel();
  return res.status;
}

Deno.test("DELETE /files/:id with a false precondition is 412 and keeps the file", async () => {
  await using served = await serveApp({});
  const { url, etag } = await upload(served.url);
  const past = formatHttpDate(Date.now() - 3_600_000);
  for (
    const headers of [
      { "if-match": '"not-its-etag"' },
      { "if-match": `W/${etag}` },
      { "if-unmodified-since": past },
      { "if-none-match": "*" },
      { "if-none-match": etag },
    ]
  ) {
    const res = await fetch(url, { method: "DELETE", headers });
    assert.equal(res.status, 412, JSON.stringify(headers));
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.equal(res.headers.get("etag"), etag);
    await res.body?.cancel();
    assert.equal(await status(url, { method: "HEAD" }), 200);
  }
});

Deno.test("DELETE /files/:id with a true precondition deletes; a missing file stays 404", async () => {
  await using served = await serveApp({});
  const future = formatHttpDate(Date.now() + 3_600_000);
  for (
    const precondition of [
      (etag: string) => ({ "if-match": etag }),
      () => ({ "if-match": "*" }),
      () => ({ "if-unmodified-since": future }),
      () => ({ "if-none-match": '"another"' }),
    ]
  ) {
    const { url, etag } = await upload(served.url);
    const headers = precondition(etag);
    assert.equal(
      await status(url, { method: "DELETE", headers }),
      204,
      JSON.stringify(headers),
    );
    assert.equal(await status(url, { method: "HEAD" }), 404);
    // Gone: a precondition does not turn the 404 into a 412 (13.2.1).
    assert.equal(await status(url, { method: "DELETE", headers }), 404);
  }
});
