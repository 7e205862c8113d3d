/**
 * The JSONPlaceholder routes end to end, in process against the fixture
 * upstream: every route answers like the upstream, the probes, bad ids and
 * paths, HEAD, the cache headers (ETag, 304, Cache-Control, Age,
 * Cache-Status), the canonical cache key and `/users/:id/summary`. How
 * they meet the upstream is in `jsonplaceholder_upstream_test.ts`, the
 * request id and log line in `request_log_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  isValidId,
  NESTED,
  RESOURCES,
} from "../routes/jsonplaceholder/routes.ts";
import { json, testApp, testAppNoRetries } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

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
  assert.equal(
    wrong.headers.get("allow"),
    "DELETE, GET, HEAD, OPTIONS, PATCH, PUT",
  );
  await wrong.body?.cancel();
  const nested = await t.get("/posts/1/comments", { method: "PUT" });
  assert.equal(nested.status, 405);
  assert.equal(nested.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
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

Deno.test("GET /users/:id/summary aggregates, 404s and degrades per part", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testAppNoRetries(upstream.url);
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

Deno.test("isValidId takes positive safe integers of up to 16 digits without a leading zero", () => {
  for (const id of ["1", "9", "10", "100", "9007199254740991"]) {
    assert.equal(isValidId(id), true, id);
  }
  const refused = [
    undefined,
    "",
    "0",
    "01",
    "-1",
    "+1",
    "1.0",
    "1e3",
    " 1",
    "1 ",
    "a",
    "1a",
    "\u0661",
    "12345678901234567",
    "9007199254740992",
  ];
  for (const id of refused) assert.equal(isValidId(id), false, String(id));
  // Agrees with the pattern it replaced on every short string of these.
  const pattern = /^[1-9][0-9]{0,15}$/;
  const alphabet = ["0", "1", "9", "a", "-", ".", " ", ":", "/"];
  const strings = [""];
  for (let length = 1; length <= 4; length++) {
    for (const prefix of strings.filter((s) => s.length === length - 1)) {
      for (const c of alphabet) strings.push(prefix + c);
    }
  }
  for (const id of strings) {
    assert.equal(isValidId(id), pattern.test(id), JSON.stringify(id));
  }
});
