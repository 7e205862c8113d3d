/**
 * How the JSONPlaceholder routes meet the upstream (the fixture upstream,
 * in process): concurrent misses make one request, stale answers while
 * revalidating or when the upstream fails, 502 and 504 for bad, dropped or
 * slow answers, and retries that honour Retry-After.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cacheNow } from "../services/cache/clock.ts";
import { json, testApp } from "./fixtures/app.ts";
import { untilAged } from "./fixtures/entry_age.ts";
import { staleAfterFault } from "./fixtures/stale_if_error.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

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
  // Past the 1 s TTL by the entry's age on the cache's clock (the app runs
  // in this process; read after the answer, a bound on its storedAt).
  await untilAged({ storedAt: cacheNow() }, 1000);
  // A slow upstream must not slow the stale answer down.
  upstream.setFault("/posts/3", { delayMs: 300 });
  const refreshed = upstream.waitForRequests(2, "/posts/3");
  const stale = await t.get("/posts/3");
  assert.equal(stale.status, 200);
  assert.match(
    stale.headers.get("cache-status") ?? "",
    /fwd=stale; ttl=-\d+; detail="stale-while-revalidate"/,
  );
  // Stale: max-age=0 (nginx reads no Age), and Age past the lifetime.
  assert.equal(stale.headers.get("cache-control"), "public, max-age=0");
  assert.ok(Number(stale.headers.get("age")) >= 2);
  await stale.body?.cancel();
  await refreshed;
  await t.app.cache.settled();
  const fresh = await t.get("/posts/3");
  assert.match(fresh.headers.get("cache-status") ?? "", /; hit; ttl=/);
  await fresh.body?.cancel();
  assert.equal(upstream.hits("/posts/3"), 2);
});

Deno.test("stale-if-error serves the stale answer when the upstream fails", async () => {
  await using scene = await staleAfterFault({ status: 500 });
  const { original, stale, upstream } = scene;
  const t = scene.app;
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
