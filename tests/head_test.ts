/**
 * Issue 8 item 8: `HEAD` sends what `GET` sends, minus the body. Over a
 * real socket, for every `GET` route of the table: the same status and
 * headers, and a `Content-Length` only when it is the size `GET` sends,
 * never a false `0` (as `HEAD /metrics` and `HEAD /files` claimed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { headOf } from "../routes/head.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

// Headers that may differ between two answers to the same request.
const VOLATILE = new Set([
  "date",
  "x-request-id",
  "server-timing",
  "age",
  "cache-status",
  "content-length",
  // Framing: an endless stream's GET is chunked, its HEAD has no body.
  "transfer-encoding",
]);

function stableHeaders(headers: Headers): Record<string, string> {
  return Object.fromEntries(
    [...headers].filter(([name]) => !VOLATILE.has(name)),
  );
}

Deno.test("HEAD answers every GET route with GET's headers and a true Content-Length or none", async () => {
  await using upstream = startFixtureUpstream();
  await using s = await serveApp({ args: ["--upstream-url", upstream.url] });
  const upload = await fetch(`${s.url}/files`, {
    method: "POST",
    body: new Uint8Array(3000),
  });
  const { id } = await upload.json() as { id: string };
  // A download says Last-Modified only once its second has passed (see
  // routes/files/download.ts); wait for that, so that no GET and HEAD pair
  // below straddles the moment it appears.
  while (true) {
    const probe = await fetch(`${s.url}/files/${id}`, { method: "HEAD" });
    await probe.body?.cancel();
    if (probe.headers.has("last-modified")) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const paths = s.app.router.routes
    .filter((route) => route.method === "GET")
    .map((route) =>
      route.pattern.startsWith("/files/")
        ? route.pattern.replace(":id", id)
        : route.pattern.replace(":id", "1")
    );
  assert.ok(paths.includes("/metrics") && paths.includes("/files"));
  assert.ok(paths.includes("/uploads/events"));
  // Compressed and not: HEAD must describe the same variant GET sends.
  for (const encoding of ["identity", "gzip, br"]) {
    const headers = { "accept-encoding": encoding };
    for (const path of paths) {
      const label = `${path} (${encoding})`;
      const get = await fetch(s.url + path, { headers });
      // An event stream never ends: its headers only.
      const stream = get.headers.get("content-type") === "text/event-stream";
      if (stream) await get.body?.cancel();
      const size = stream ? 0 : (await get.bytes()).byteLength;
      const head = await fetch(s.url + path, { method: "HEAD", headers });
      assert.equal((await head.bytes()).byteLength, 0, label);
      assert.equal(head.status, get.status, label);
      assert.deepEqual(
        stableHeaders(head.headers),
        stableHeaders(get.headers),
        label,
      );
      const length = head.headers.get("content-length");
      const getLength = get.headers.get("content-length");
      if (size > 0) assert.notEqual(length, "0", `${label}: a false 0`);
      if (length === null) continue;
      if (path === "/metrics") {
        // Two scrapes differ a little (the first one is counted).
        assert.ok(Number(length) > Number(getLength) * 0.9, label);
      } else {
        assert.equal(length, getLength, `${label}: HEAD Content-Length`);
      }
    }
  }
});

Deno.test("headOf keeps an explicit length, measures a small body, sends none for a big stream", async () => {
  const explicit = await headOf(
    new Response("abc", { headers: { "content-length": "3", etag: '"x"' } }),
  );
  assert.equal(explicit.body, null);
  assert.equal(explicit.headers.get("content-length"), "3");
  assert.equal(explicit.headers.get("etag"), '"x"');

  const measured = await headOf(new Response("hello", { status: 201 }));
  assert.equal(measured.status, 201);
  assert.equal(measured.body, null);
  assert.equal(measured.headers.get("content-length"), "5");

  let cancelled = false;
  const big = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(new Uint8Array(1024)),
    cancel: () => {
      cancelled = true;
    },
  });
  const unknown = await headOf(new Response(big), 4096);
  assert.equal(unknown.headers.get("content-length"), null);
  assert.equal((await unknown.bytes()).byteLength, 0);
  assert.ok(cancelled, "the GET body is released");

  const empty = new Response(null, { status: 304 });
  assert.equal(await headOf(empty), empty);
});

Deno.test("HEAD of a cached answer, from memory too, says the Content-Length its GET sends", async () => {
  await using upstream = startFixtureUpstream();
  await using s = await serveApp({ args: ["--upstream-url", upstream.url] });
  // The cached GET's record leaves Content-Length to the runtime
  // (services/cache/headers.ts): HEAD must still say it, plain or coded.
  for (const encoding of ["identity", "gzip"]) {
    const headers = { "accept-encoding": encoding };
    const get = await fetch(`${s.url}/posts/1`, { headers });
    // fetch decodes a coded body: the length sent is the header's.
    const sent = get.headers.get("content-length");
    const size = (await get.bytes()).byteLength;
    if (encoding === "identity") assert.equal(sent, String(size));
    for (let i = 0; i < 2; i++) {
      const head = await fetch(`${s.url}/posts/1`, { method: "HEAD", headers });
      await head.body?.cancel();
      assert.equal(head.headers.get("cache-status")?.includes("hit"), true);
      assert.equal(head.headers.get("content-length"), sent, encoding);
    }
  }
});
