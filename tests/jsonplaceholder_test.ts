import assert from "node:assert/strict";
import { NESTED, RESOURCES } from "../routes/jsonplaceholder/routes.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

async function json(res: Response): Promise<unknown> {
  return JSON.parse(await res.text());
}

async function upstreamJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  return JSON.parse(await res.text());
}

Deno.test("every JSONPlaceholder route answers like the upstream", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const paths = [
    ...RESOURCES.flatMap((r) => [`/${r}`, `/${r}/1`]),
    ...NESTED.map(([parent, child]) => `/${parent}/1/${child}`),
    "/comments?postId=1",
    "/posts?userId=1",
  ];
  for (const path of paths) {
    const res = await t.get(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(
      await json(res),
      await upstreamJson(upstream.url + path),
      path,
    );
  }
  const filtered = await json(await t.get("/comments?postId=1")) as unknown[];
  assert.equal(filtered.length, 5);
});

Deno.test("GET / greets and the probes answer", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  assert.deepEqual(await json(await t.get("/")), { Hello: "World" });
  assert.deepEqual(await json(await t.get("/healthz")), { status: "ok" });
  assert.equal((await t.get("/readyz")).status, 200);
  await (await t.get("/readyz")).body?.cancel();
  t.app.beginDrain();
  const draining = await t.get("/readyz");
  assert.equal(draining.status, 503);
  assert.equal(
    draining.headers.get("content-type"),
    "application/problem+json",
  );
  await draining.body?.cancel();
  assert.equal((await t.get("/healthz")).status, 200);
  assert.equal(upstream.hits(), 0);
});

Deno.test("bad ids give 400, unknown ids 404, unknown paths 404, wrong methods 405", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (
    const path of [
      "/posts/abc",
      "/posts/0",
      "/posts/-1",
      "/posts/1.5",
      "/users/01/todos",
      "/users/x/summary",
    ]
  ) {
    const res = await t.get(path);
    assert.equal(res.status, 400, path);
    const body = await json(res) as Record<string, unknown>;
    assert.equal(body.status, 400);
    assert.equal(typeof body.detail, "string");
  }
  const missing = await t.get("/posts/9999");
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("content-type"), "application/problem+json");
  assert.equal((await json(missing) as { status: number }).status, 404);
  const unknown = await t.get("/nothing/here");
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  // Writes pass through (writes_test.ts); what they do not cover is 405.
  const wrong = await t.get("/posts/1", { method: "POST" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "DELETE, GET, HEAD, PATCH, PUT");
  await wrong.body?.cancel();
  const nested = await t.get("/posts/1/comments", { method: "POST" });
  assert.equal(nested.status, 405);
  assert.equal(nested.headers.get("allow"), "GET, HEAD");
  await nested.body?.cancel();
  assert.equal(upstream.hits(), 1, "only /posts/9999 reached the upstream");
});

Deno.test("HEAD works wherever GET does, without a body", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (const path of ["/", "/healthz", "/posts/1", "/users/1/summary"]) {
    const get = await t.get(path);
    const getBody = new Uint8Array(await get.arrayBuffer());
    const head = await t.get(path, { method: "HEAD" });
    assert.equal(head.status, 200, path);
    assert.equal(head.body, null, path);
    assert.equal(
      head.headers.get("content-length"),
      String(getBody.byteLength),
      path,
    );
    assert.equal(head.headers.get("etag"), get.headers.get("etag"), path);
  }
});

Deno.test("cache headers: ETag, 304, Cache-Control, Age and Cache-Status", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    "60",
  ]);
  const first = await t.get("/posts/1");
  const etag = first.headers.get("etag");
  assert.match(etag ?? "", /^"[A-Za-z0-9_-]+"$/, "strong ETag");
  assert.equal(
    first.headers.get("cache-status"),
    "async-api; fwd=miss; stored",
  );
  assert.equal(first.headers.get("cache-control"), "public, max-age=60");
  assert.equal(first.headers.get("age"), "0");
  await first.body?.cancel();

  const second = await t.get("/posts/1");
  assert.match(
    second.headers.get("cache-status") ?? "",
    /^async-api; hit; ttl=(59|60)$/,
  );
  assert.equal(second.headers.get("etag"), etag);
  await second.body?.cancel();

  const conditional = await t.get("/posts/1", {
    headers: { "if-none-match": etag! },
  });
  assert.equal(conditional.status, 304);
  assert.equal(conditional.body, null);
  assert.equal(conditional.headers.get("etag"), etag);
  // Weak comparison, as RFC 9110 asks for If-None-Match.
  const weak = await t.get("/posts/1", {
    headers: { "if-none-match": `"x", W/${etag}` },
  });
  assert.equal(weak.status, 304);
  const other = await t.get("/posts/1", {
    headers: { "if-none-match": '"other"' },
  });
  assert.equal(other.status, 200);
  await other.body?.cancel();
  assert.equal(upstream.hits("/posts/1"), 1);
});

Deno.test("the cache key is canonical: query order does not matter", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const a = await t.get("/comments?postId=1&id=3");
  const b = await t.get("/comments?id=3&postId=1");
  assert.deepEqual(await json(a), await json(b));
  assert.equal(b.headers.get("cache-status")?.includes("hit"), true);
  assert.equal(upstream.hits(), 1);
});

Deno.test("100 concurrent misses make exactly one upstream request", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/2", { delayMs: 200 });
  await using t = await testApp(["--upstream-url", upstream.url]);
  const responses = await Promise.all(
    Array.from({ length: 100 }, () => t.get("/posts/2")),
  );
  const statuses = responses.map((r) => r.headers.get("cache-status"));
  const bodies = await Promise.all(responses.map((r) => r.text()));
  assert.equal(upstream.hits("/posts/2"), 1);
  assert.ok(responses.every((r) => r.status === 200));
  assert.equal(new Set(bodies).size, 1);
  assert.equal(
    statuses.filter((s) => s === "async-api; fwd=miss; stored").length,
    1,
  );
  assert.equal(
    statuses.filter((s) => s === "async-api; fwd=miss; collapsed").length,
    99,
  );
});

Deno.test("stale-while-revalidate serves stale at once and refreshes in the background", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "60",
  ]);
  await (await t.get("/posts/3")).body?.cancel();
  await new Promise((r) => setTimeout(r, 1100));
  // A slow upstream must not slow the stale answer down.
  upstream.setFault("/posts/3", { delayMs: 300 });
  const refreshed = upstream.waitForRequests(2, "/posts/3");
  const stale = await t.get("/posts/3");
  assert.equal(stale.status, 200);
  assert.match(
    stale.headers.get("cache-status") ?? "",
    /fwd=stale; ttl=-\d+; detail="stale-while-revalidate"/,
  );
  // max-age stays the lifetime; Age past it is what makes the answer stale.
  assert.equal(stale.headers.get("cache-control"), "public, max-age=1");
  assert.ok(Number(stale.headers.get("age")) >= 1);
  await stale.body?.cancel();
  await refreshed;
  await t.app.cache.settled();
  const fresh = await t.get("/posts/3");
  assert.match(fresh.headers.get("cache-status") ?? "", /; hit; ttl=/);
  await fresh.body?.cancel();
  assert.equal(upstream.hits("/posts/3"), 2);
});

Deno.test("stale-if-error serves the stale answer when the upstream fails", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
    "--cache-stale-if-error-seconds",
    "60",
    "--upstream-retries",
    "0",
  ]);
  const original = await (await t.get("/posts/4")).text();
  await new Promise((r) => setTimeout(r, 1100));
  upstream.setFault("/posts/4", { status: 500 });
  const stale = await t.get("/posts/4");
  assert.equal(stale.status, 200);
  assert.equal(await stale.text(), original);
  assert.match(
    stale.headers.get("cache-status") ?? "",
    /fwd=stale; fwd-status=500; ttl=-\d+; detail="stale-if-error"/,
  );
  // Without a cached answer the failure shows: 502 problem.
  upstream.setFault("/posts/5", { status: 500 });
  const failed = await t.get("/posts/5");
  assert.equal(failed.status, 502);
  const problem = await json(failed) as Record<string, unknown>;
  assert.equal(problem.status, 502);
  assert.equal(problem.upstreamStatus, 500);
});

Deno.test("malformed, non-JSON and dropped upstream answers give 502; slow ones 504", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-timeout-ms",
    "300",
    "--upstream-retries",
    "1",
  ]);
  upstream.setFault("/posts/1", { body: "{oops" });
  upstream.setFault("/posts/2", {
    body: "<html></html>",
    contentType: "text/html",
  });
  upstream.setFault("/posts/3", { drop: true });
  upstream.setFault("/posts/4", { delayMs: 2000 });
  for (
    const [path, status] of [["/posts/1", 502], ["/posts/2", 502], [
      "/posts/3",
      502,
    ], ["/posts/4", 504]] as const
  ) {
    const res = await t.get(path);
    assert.equal(res.status, status, path);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const body = await json(res) as Record<string, unknown>;
    assert.equal(body.status, status);
    assert.equal(typeof body.requestId, "string");
    assert.ok(!JSON.stringify(body).includes("    at "), "no stack trace");
  }
  // The drop was retried once; the malformed body was not.
  assert.equal(upstream.hits("/posts/3"), 2);
  assert.equal(upstream.hits("/posts/1"), 1);
});

Deno.test("retries 503 and 429, honouring Retry-After, then succeeds", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  upstream.setFault("/posts/6", {
    status: 503,
    headers: { "retry-after": "1" },
    times: 1,
  });
  upstream.setFault("/posts/7", { status: 429, times: 2 });
  const started = performance.now();
  const res = await t.get("/posts/6");
  const elapsed = performance.now() - started;
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(upstream.hits("/posts/6"), 2);
  assert.ok(elapsed >= 900, `waited ${elapsed} ms for Retry-After: 1`);
  const again = await t.get("/posts/7");
  assert.equal(again.status, 200);
  await again.body?.cancel();
  assert.equal(upstream.hits("/posts/7"), 3);
});

Deno.test("a Retry-After longer than we wait ends the retries with 502 and Retry-After", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  upstream.setFault("/posts/8", {
    status: 503,
    headers: { "retry-after": "120" },
  });
  const res = await t.get("/posts/8");
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("retry-after"), "120");
  await res.body?.cancel();
  assert.equal(upstream.hits("/posts/8"), 1);
});

Deno.test("GET /users/:id/summary aggregates, 404s and degrades per part", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-retries",
    "0",
  ]);
  const res = await t.get("/users/1/summary");
  assert.equal(res.status, 200);
  const body = await json(res) as Record<string, unknown>;
  assert.deepEqual(body.user, await upstreamJson(`${upstream.url}/users/1`));
  assert.deepEqual(
    body.posts,
    await upstreamJson(`${upstream.url}/users/1/posts`),
  );
  assert.deepEqual(
    body.todos,
    await upstreamJson(`${upstream.url}/users/1/todos`),
  );
  assert.deepEqual(
    body.albums,
    await upstreamJson(`${upstream.url}/users/1/albums`),
  );
  assert.deepEqual(body.errors, []);

  const missing = await t.get("/users/999/summary");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  upstream.setFault("/users/2/todos", { status: 500 });
  const partial = await t.get("/users/2/summary");
  assert.equal(partial.status, 200);
  assert.equal(partial.headers.get("cache-control"), "no-store");
  const partialBody = await json(partial) as Record<string, unknown>;
  assert.equal(partialBody.todos, null);
  assert.ok(Array.isArray(partialBody.posts));
  assert.deepEqual(
    (partialBody.errors as { part: string; status: number }[]).map((
      e,
    ) => [e.part, e.status]),
    [["todos", 502]],
  );
});

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
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-retries",
    "0",
  ], { logger });
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
