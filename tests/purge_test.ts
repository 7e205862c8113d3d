/**
 * Issue 13 item 5: `DELETE /cache?path=` (exact, every query variant) and
 * `?prefix=` (a subtree) with `CACHE_ADMIN_TOKEN`: absent (404) without
 * the token, 401 with a challenge for a missing or wrong one, 400 for a bad
 * query, the count of what was dropped, metrics by cause; and with Redis,
 * across instances.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TestApp } from "./fixtures/app.ts";
import { testApp } from "./fixtures/app.ts";
import { linkOf, sharedCache } from "./fixtures/redis_apps.ts";
import { until } from "./fixtures/until.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const TOKEN = "purge-token-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };

function purge(
  t: TestApp,
  query: string,
  headers: Record<string, string> = AUTH,
): Promise<Response> {
  return t.get(`/cache${query}`, { method: "DELETE", headers });
}

async function hit(t: TestApp, path: string): Promise<boolean> {
  const res = await t.get(path);
  await res.body?.cancel();
  return /; hit/.test(res.headers.get("cache-status") ?? "");
}

/** The app on `upstreamUrl` with the purge enabled (CACHE_ADMIN_TOKEN). */
function purgeApp(upstreamUrl: string): Promise<TestApp> {
  return testApp(["--upstream-url", upstreamUrl, "--cache-admin-token", TOKEN]);
}

const CACHED = [
  "/posts",
  "/posts?userId=1",
  "/posts/1",
  "/posts/1?_embed=comments",
  "/posts/1/comments",
  "/posts/2",
  "/comments/1",
  "/users/1/posts",
];

Deno.test("DELETE /cache is absent without CACHE_ADMIN_TOKEN", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const res = await purge(t, "?path=/posts/1");
  assert.equal(res.status, 404);
  await res.body?.cancel();
});

Deno.test("DELETE /cache needs the bearer token: 401 with a challenge for a missing, wrong or non-Bearer one", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await purgeApp(upstream.url);
  await hit(t, "/posts/1");
  for (
    const [headers, challenge] of [
      [{}, 'Bearer realm="async-api"'],
      [{ authorization: "Bearer wrong-token-0123456789" }, /invalid_token/],
      [{ authorization: `Basic ${btoa(`x:${TOKEN}`)}` }, /invalid_token/],
      [{ authorization: `Bearer ${TOKEN}x` }, /invalid_token/],
    ] as const
  ) {
    const res = await purge(t, "?path=/posts/1", headers);
    assert.equal(res.status, 401);
    const www = res.headers.get("www-authenticate") ?? "";
    if (typeof challenge === "string") assert.equal(www, challenge);
    else assert.match(www, challenge);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    await res.body?.cancel();
  }
  assert.ok(await hit(t, "/posts/1"), "nothing was dropped");
});

Deno.test("DELETE /cache: 400 for neither, both, a repeated or a non-path value", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await purgeApp(upstream.url);
  for (
    const query of [
      "",
      "?path=/posts/1&prefix=/posts",
      "?path=/posts/1&path=/posts/2",
      "?path=posts/1",
      "?path=/posts/1?x=1",
      "?path=/posts/../users",
      "?prefix=//evil",
      "?prefix=http://x/posts",
      `?path=/${"a".repeat(3000)}`,
    ]
  ) {
    const res = await purge(t, query);
    assert.equal(res.status, 400, query);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    await res.body?.cancel();
  }
});

Deno.test("DELETE /cache?path= drops that path's variants; ?prefix= the subtree; counted", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await purgeApp(upstream.url);
  for (const path of CACHED) await hit(t, path);
  const exact = await purge(t, "?path=/posts/1");
  assert.equal(exact.status, 200);
  assert.equal(exact.headers.get("cache-control"), "no-store");
  assert.deepEqual(await exact.json(), { dropped: 2, scope: "local" });
  assert.ok(!await hit(t, "/posts/1"));
  assert.ok(!await hit(t, "/posts/1?_embed=comments"));
  assert.ok(await hit(t, "/posts/1/comments"), "not under ?path=");
  assert.ok(await hit(t, "/posts"));

  const subtree = await purge(t, "?prefix=/posts");
  // /posts, /posts?userId=1, /posts/1, its variant, its comments, /posts/2.
  assert.deepEqual(await subtree.json(), { dropped: 6, scope: "local" });
  for (const path of CACHED.filter((p) => p.startsWith("/posts"))) {
    assert.ok(!await hit(t, path), path);
  }
  assert.ok(await hit(t, "/comments/1"));
  assert.ok(await hit(t, "/users/1/posts"));
  const none = await purge(t, "?path=/todos/1");
  assert.deepEqual(await none.json(), { dropped: 0, scope: "local" });
  const all = await purge(t, "?prefix=/");
  assert.ok((await all.json()).dropped >= CACHED.length);
  const metrics = await (await t.get("/metrics")).text();
  assert.match(metrics, /^cache_invalidations_total\{cause="purge"\} 4$/m);
  assert.match(metrics, /^cache_invalidations_total\{cause="write"\} 0$/m);
});

Deno.test("DELETE /cache?path= takes a path with ]= as written, as URLSearchParams reads it (not json-server's qs)", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await purgeApp(upstream.url);
  await hit(t, "/posts/1");
  // No cached path has `]=` (ids are integers): a path, nothing dropped.
  for (
    const query of [
      "?path=/posts/1]=2",
      "?path=/posts/1%5D=2",
      "?path=/posts/1]%3D2",
      "?prefix=/posts/1]=2",
    ]
  ) {
    const res = await purge(t, query);
    assert.equal(res.status, 200, query);
    assert.deepEqual(await res.json(), { dropped: 0, scope: "local" }, query);
  }
  assert.ok(await hit(t, "/posts/1"), "not /posts/1");
  // The value read whole: its 400 names it.
  const res = await purge(t, "?path=posts/1]=2");
  assert.equal(res.status, 400);
  assert.match((await res.json()).detail, /got "posts\/1\]=2"/);
  const dropped = await purge(t, "?path=/posts/1&x]=1");
  assert.deepEqual(await dropped.json(), { dropped: 1, scope: "local" });
});

Deno.test("REDIS_URL: a purge through A empties Redis and B's memory; the count says shared", async () => {
  await using shared = await sharedCache(2, ["--cache-admin-token", TOKEN]);
  const { redis, apps: [a, b] } = shared;
  for (const path of CACHED) await hit(a, path);
  // B has them in memory too now.
  for (const path of CACHED) await hit(b, path);
  for (const path of CACHED) assert.ok(await hit(b, path), path);
  const res = await purge(a, "?prefix=/posts");
  assert.deepEqual(await res.json(), { dropped: 6, scope: "shared" });
  assert.equal(
    await redis.command("EXISTS", "async-api:cache:/posts/1"),
    0,
  );
  assert.equal(
    await redis.command("EXISTS", "async-api:cache:/comments/1"),
    1,
  );
  await until(async () => !await hit(b, "/posts/2"), "B dropped", 5_000);
  assert.ok(await hit(b, "/comments/1"));
  // Redis down: this instance's copies only, and it says so.
  await redis.stop();
  await until(() => !linkOf(a).up, "Redis down seen");
  await hit(a, "/todos/1");
  const local = await purge(a, "?path=/todos/1");
  assert.equal((await local.json()).scope, "local");
});
