/**
 * A write whose body is compressed (`Content-Encoding`), in front of the
 * real JSONPlaceholder: json-server (body-parser) decodes `gzip` and
 * `deflate` and refuses other codings with 415, so a client that
 * compresses its JSON works against it. Here the body is decoded the same
 * way (the cap applies to the decoded bytes, so a small bomb is a 413),
 * and passed on decoded; other codings get 415 problem+json naming the
 * ones taken in `Accept-Encoding` (RFC 9110 12.5.3), not a 400 saying the
 * body is not JSON.
 *
 * @module
 */

import assert from "node:assert/strict";
import { deflateSync, gzipSync } from "node:zlib";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

const JSON_TYPE = { "content-type": "application/json" };

Deno.test("a gzip or deflate write body is decoded and passed on, as json-server takes it; other codings 415, a bomb 413", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url, "--write-max-bytes", "65536"],
  });
  const json = new TextEncoder().encode('{"title":"t","userId":1}');
  const write = (
    base: string,
    method: string,
    path: string,
    coding: string,
    body: Uint8Array<ArrayBuffer>,
  ) =>
    fetch(base + path, {
      method,
      headers: { ...JSON_TYPE, "content-encoding": coding },
      body,
    });
  const encoded: [string, Uint8Array<ArrayBuffer>][] = [
    ["gzip", new Uint8Array(gzipSync(json))],
    ["GZip", new Uint8Array(gzipSync(json))],
    ["deflate", new Uint8Array(deflateSync(json))],
    ["identity", json],
  ];
  const targets: [string, string][] = [["POST", "/posts"], ["PUT", "/posts/1"]];
  for (const [method, path] of targets) {
    for (const [coding, body] of encoded) {
      const theirs = await write(upstream.url, method, path, coding, body);
      const ours = await write(service.url, method, path, coding, body);
      const text = await ours.text();
      assert.equal(ours.status, theirs.status, `${method} ${coding}: ${text}`);
      assert.deepEqual(JSON.parse(text), await theirs.json(), coding);
    }
  }
  // A coding json-server does not take: 415 there (an HTML stack), a
  // problem here that names what is taken.
  for (const coding of ["br", "x-gzip", "gzip, gzip"]) {
    const body = new Uint8Array(gzipSync(json));
    const theirs = await write(upstream.url, "POST", "/posts", coding, body);
    await theirs.body?.cancel();
    assert.equal(theirs.status, 415, coding);
    const ours = await write(service.url, "POST", "/posts", coding, body);
    assert.equal(ours.status, 415, coding);
    assert.equal(ours.headers.get("content-type"), "application/problem+json");
    assert.equal(ours.headers.get("accept-encoding"), "gzip, deflate");
    assert.match((await ours.json()).detail, /Content-Encoding/);
  }
  // Not gzip at all: 400, as json-server.
  const garbage = await write(
    service.url,
    "POST",
    "/posts",
    "gzip",
    new TextEncoder().encode("not gzip"),
  );
  assert.equal(garbage.status, 400);
  assert.match((await garbage.json()).detail, /gzip/);
  // 1 MiB of JSON in 1 KiB of gzip: the cap counts what it decodes to.
  const bomb = new TextEncoder().encode(
    `{"title":"${"a".repeat(1024 * 1024)}"}`,
  );
  const small = new Uint8Array(gzipSync(bomb));
  assert.ok(small.byteLength < 4096);
  const refused = await write(service.url, "POST", "/posts", "gzip", small);
  assert.equal(refused.status, 413);
  assert.equal((await refused.json()).maxBytes, 65536);
});
