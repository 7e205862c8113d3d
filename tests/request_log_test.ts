/**
 * What each request leaves behind, in process against the fixture
 * upstream: its X-Request-Id (honoured when valid, generated otherwise,
 * echoed) and its one JSON log line, whose bytes are the bytes sent.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp, testAppNoRetries } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("X-Request-Id is honoured when valid, generated otherwise, and echoed", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const given = await t.get("/healthz", {
    headers: { "x-request-id": "abc-123" },
  });
  assert.equal(given.headers.get("x-request-id"), "abc-123");
  await given.body?.cancel();
  const bad = await t.get("/healthz", {
    headers: { "x-request-id": "no spaces <allowed>" },
  });
  assert.match(bad.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  await bad.body?.cancel();
});

Deno.test("one JSON log line per request; 5xx logged with the request id", async () => {
  await using upstream = startFixtureUpstream();
  const lines: Record<string, unknown>[] = [];
  const { createLogger } = await import("../services/ops/logger.ts");
  const logger = createLogger({
    write: (line) => lines.push(JSON.parse(line)),
  });
  await using t = await testAppNoRetries(upstream.url, { logger });
  await (await t.get("/posts/1", { headers: { "x-request-id": "req-1" } })).body
    ?.cancel();
  upstream.setFault("/posts/2", { status: 500 });
  await (await t.get("/posts/2", { headers: { "x-request-id": "req-2" } })).body
    ?.cancel();
  const requests = lines.filter((l) => l.msg === "request");
  assert.equal(requests.length, 2);
  const [ok, failed] = requests;
  for (
    const key of [
      "time",
      "method",
      "path",
      "status",
      "durationMs",
      "bytes",
      "requestId",
    ]
  ) {
    assert.ok(key in ok!, key);
  }
  assert.equal(ok!.cache, "miss");
  assert.equal(ok!.route, "/posts/:id");
  assert.equal(failed!.status, 502);
  const errors = lines.filter((l) => l.level === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.requestId, "req-2");
});

Deno.test("the log line's bytes are the bytes sent: identity, gzip, and for HEAD the length GET sends", async () => {
  await using upstream = startFixtureUpstream();
  const lines: Record<string, unknown>[] = [];
  const { createLogger } = await import("../services/ops/logger.ts");
  const logger = createLogger({
    write: (line) => lines.push(JSON.parse(line)),
  });
  await using t = await testApp(["--upstream-url", upstream.url], { logger });
  const sizes: number[] = [];
  for (const encoding of ["identity", "gzip", "gzip"]) {
    const res = await t.get("/posts/1", {
      headers: { "accept-encoding": encoding },
    });
    sizes.push((await res.bytes()).byteLength);
  }
  const head = await t.get("/posts/1", { method: "HEAD" });
  await head.body?.cancel();
  const logged = lines.filter((l) => l.msg === "request").map((l) => l.bytes);
  assert.ok(sizes[1]! < sizes[0]!, "gzip is smaller");
  // HEAD logs the length GET sends (its Content-Length), as before.
  assert.deepEqual(logged, [...sizes, sizes[0]]);
});

Deno.test("every answer's log line counts the bytes its client got: listing, purge, probes, pages, problems, writes, downloads", async () => {
  await using upstream = startFixtureUpstream();
  const lines: Record<string, unknown>[] = [];
  const { createLogger } = await import("../services/ops/logger.ts");
  const logger = createLogger({
    write: (line) => lines.push(JSON.parse(line)),
  });
  const token = "purge-token-0123456789";
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-admin-token",
    token,
  ], { logger });
  const identity = { "accept-encoding": "identity" };
  const stored = await t.get("/files", {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: new Uint8Array(5000).fill(7),
  });
  const { id } = await stored.json();
  const asked: [string, RequestInit][] = [
    ["/files", {}],
    ["/files?limit=1", {}],
    [`/files/${id}`, {}],
    ["/cache?path=/posts/1", {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    }],
    ["/uploads", {}],
    ["/", {}],
    ["/healthz", {}],
    ["/metrics", {}],
    ["/openapi.json", {}],
    ["/upload", {}],
    ["/posts/1", {}],
    ["/posts/abc", {}],
    ["/posts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"title":"t"}',
    }],
  ];
  const got: Record<string, number> = {};
  for (const [path, init] of asked) {
    const res = await t.get(path, {
      ...init,
      headers: { ...identity, ...init.headers },
    });
    assert.ok(res.status < 500, `${path}: ${res.status}`);
    const key = `${init.method ?? "GET"} ${path} ${res.status}`;
    got[key] = (await res.bytes()).byteLength;
  }
  // The upload's line first, then one per request asked, in order.
  const requests = lines.filter((l) => l.msg === "request").slice(1);
  assert.equal(requests.length, asked.length);
  const logged = Object.fromEntries(
    Object.keys(got).map((key, i) => [key, requests[i]!.bytes]),
  );
  for (const size of Object.values(got)) assert.ok(size > 0);
  assert.deepEqual(logged, got);
});
