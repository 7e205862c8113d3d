/**
 * Issue 8 item 8: downloads carry `Last-Modified` and honour
 * `If-Modified-Since` (304) and a date-valued `If-Range`, the validators
 * browsers, `curl -z` and download managers send.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import {
  formatHttpDate,
  parseHttpDate,
  toSeconds,
} from "../services/http/conditional.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { newId } from "./fixtures/upload_events.ts";

interface Stored {
  id: string;
  sha256: string;
  created: string;
}

async function serveWithFile(data: Uint8Array<ArrayBuffer>) {
  const served = await serveApp({});
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    body: data,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const stored = JSON.parse(text) as Stored;
  // Last-Modified is sent once strong: from the second after the file's.
  await untilAfterSecondOf(stored.created);
  return { served, stored, url: `${served.url}/files/${stored.id}` };
}

/** Waits until the clock is past the second `created` (ISO) falls in. */
async function untilAfterSecondOf(created: string): Promise<void> {
  const wait = toSeconds(Date.parse(created)) + 1000 - Date.now();
  if (wait > 0) await delay(wait + 10);
}

/** Uploads `body` under `id` to `files`; the stored metadata. */
async function uploadAs(
  files: string,
  id: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<Stored> {
  const res = await fetch(files, {
    method: "POST",
    headers: { "upload-id": id },
    body,
  });
  assert.equal(res.status, 201);
  return await res.json();
}

const data = crypto.getRandomValues(new Uint8Array(1000));

Deno.test("GET /files/:id sends Last-Modified: the upload's time, to the second", async () => {
  const { served, stored, url } = await serveWithFile(data);
  await using _ = served;
  const res = await fetch(url);
  assert.deepEqual(await res.bytes(), data);
  const lastModified = res.headers.get("last-modified");
  assert.equal(lastModified, formatHttpDate(Date.parse(stored.created)));
  assert.equal(
    parseHttpDate(lastModified),
    Math.floor(Date.parse(stored.created) / 1000) * 1000,
  );
  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.headers.get("last-modified"), lastModified);
  await head.body?.cancel();
});

Deno.test("If-Modified-Since on /files/:id: 304 unless the file is newer", async () => {
  const { served, url } = await serveWithFile(data);
  await using _ = served;
  const first = await fetch(url);
  await first.body?.cancel();
  const lastModified = first.headers.get("last-modified")!;
  const modified = parseHttpDate(lastModified)!;

  for (
    const since of [lastModified, formatHttpDate(modified + 3_600_000)]
  ) {
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(url, {
        method,
        headers: { "if-modified-since": since },
      });
      assert.equal(res.status, 304, `${method} since ${since}`);
      assert.equal((await res.bytes()).byteLength, 0);
      assert.equal(res.headers.get("etag"), first.headers.get("etag"));
      assert.equal(res.headers.get("last-modified"), lastModified);
    }
  }
  const earlier = await fetch(url, {
    headers: { "if-modified-since": formatHttpDate(modified - 1000) },
  });
  assert.equal(earlier.status, 200);
  assert.deepEqual(await earlier.bytes(), data);

  // An invalid date is ignored, not guessed at.
  for (const since of ["yesterday", "2026-01-01T00:00:00Z", "0"]) {
    const res = await fetch(url, { headers: { "if-modified-since": since } });
    assert.equal(res.status, 200, since);
    await res.body?.cancel();
  }
  // If-None-Match decides alone when both are sent (RFC 9110 13.1.3).
  const both = await fetch(url, {
    headers: {
      "if-none-match": `"${"0".repeat(64)}"`,
      "if-modified-since": formatHttpDate(modified + 3_600_000),
    },
  });
  assert.equal(both.status, 200);
  assert.deepEqual(await both.bytes(), data);
});

Deno.test("If-Range on /files/:id: the exact Last-Modified date resumes, anything else gets it all", async () => {
  const { served, stored, url } = await serveWithFile(data);
  await using _ = served;
  const head = await fetch(url, { method: "HEAD" });
  await head.body?.cancel();
  const lastModified = head.headers.get("last-modified")!;
  const modified = parseHttpDate(lastModified)!;

  const resumed = await fetch(url, {
    headers: { range: "bytes=900-", "if-range": lastModified },
  });
  assert.equal(resumed.status, 206);
  assert.equal(resumed.headers.get("content-range"), "bytes 900-999/1000");
  assert.deepEqual(await resumed.bytes(), data.subarray(900));

  for (
    const ifRange of [
      formatHttpDate(modified - 1000),
      formatHttpDate(modified + 1000),
      "not a date",
      `W/"${stored.sha256}"`,
    ]
  ) {
    const res = await fetch(url, {
      headers: { range: "bytes=900-", "if-range": ifRange },
    });
    assert.equal(res.status, 200, ifRange);
    assert.equal(res.headers.get("content-length"), "1000");
    assert.deepEqual(await res.bytes(), data, ifRange);
  }
});

Deno.test("If-Match on /files/:id: 412 unless the ETag matches strongly", async () => {
  const { served, stored, url } = await serveWithFile(data);
  await using _ = served;
  const failed = await fetch(url, { headers: { "if-match": '"other"' } });
  assert.equal(failed.status, 412);
  assert.equal(failed.headers.get("content-type"), "application/problem+json");
  await failed.body?.cancel();
  const ok = await fetch(url, {
    headers: { "if-match": `"${stored.sha256}"` },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.bytes(), data);
});

Deno.test("Last-Modified of a file replaced within the second it was stored: no answer dates the old version with the new one's date", async () => {
  await using served = await serveApp({});
  const files = `${served.url}/files`;
  const old = crypto.getRandomValues(new Uint8Array(1000));
  const fresh = crypto.getRandomValues(new Uint8Array(1000));
  for (let attempt = 0;; attempt++) {
    assert.ok(attempt < 10, "never stored, read, replaced within a second");
    // From just after a second begins: the requests below fit in it.
    await delay(1000 - (Date.now() % 1000) + 5);
    const id = newId();
    const first = await uploadAs(files, id, old);
    // What a client downloading the old version holds.
    const seen = await fetch(`${files}/${id}`);
    assert.deepEqual(await seen.bytes(), old);
    const gone = await fetch(`${files}/${id}`, { method: "DELETE" });
    assert.equal(gone.status, 204);
    const second = await uploadAs(files, id, fresh);
    const second0 = toSeconds(Date.parse(second.created));
    const asked = Date.now();
    // A date sent back while the new version is in its first second.
    const early = await fetch(`${files}/${id}`, {
      headers: { range: "bytes=900-", "if-range": formatHttpDate(second0) },
    });
    const earlyBytes = await early.bytes();
    if (toSeconds(Date.parse(first.created)) !== second0) continue;
    if (asked >= second0 + 1000) continue;
    // The old version's answer had no date: one would be the new one's,
    // and its If-Range would have resumed on the new bytes (206).
    assert.equal(seen.headers.get("last-modified"), null);
    assert.equal(early.status, 200);
    assert.equal(early.headers.get("last-modified"), null);
    assert.deepEqual(earlyBytes, fresh);
    // A second on, the date is the new version's alone, and resumes.
    await untilAfterSecondOf(second.created);
    const resumed = await fetch(`${files}/${id}`, {
      headers: { range: "bytes=900-", "if-range": formatHttpDate(second0) },
    });
    assert.equal(resumed.status, 206);
    assert.equal(resumed.headers.get("last-modified"), formatHttpDate(second0));
    assert.deepEqual(await resumed.bytes(), fresh.subarray(900));
    return;
  }
});
