/**
 * Upstream waits are bounded: the wait for a slot counts against the
 * request's budget, a full wait queue answers 503 at once (or stale), and a
 * circuit breaker keeps a dead upstream from getting every attempt of every
 * request while stale-if-error answers at once.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** Status, `Retry-After` and time to the answer of one GET. */
async function timed(get: () => Promise<Response>) {
  const started = performance.now();
  const res = await get();
  const ms = performance.now() - started;
  const body = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    cacheStatus: res.headers.get("cache-status") ?? "",
    contentType: res.headers.get("content-type"),
    body,
    ms,
  };
}

Deno.test("40 misses against a slow upstream: none waits past the budget, a full queue answers 503 at once", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault(/^\/posts\/1\?/, { delayMs: 1000 });
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-timeout-ms",
    "2500",
    "--upstream-concurrency",
    "4",
    "--upstream-queue-limit",
    "8",
  ]);
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, k) => timed(() => t.get(`/posts/1?k=${k}`))),
  );
  const slowest = Math.max(...results.map((r) => r.ms));
  // Before: every request queued, 10 rounds of 1 s, the slowest ~10 s.
  assert.ok(slowest < 4000, `the slowest answer took ${slowest} ms`);
  const ok = results.filter((r) => r.status === 200);
  const shed = results.filter((r) => r.status === 503);
  // 4 in flight and 8 waiting; the other 28 cannot wait.
  assert.ok(ok.length >= 4, `${ok.length} answered 200`);
  assert.ok(shed.length >= 20, `${shed.length} answered 503`);
  for (const r of shed) {
    assert.equal(r.contentType, "application/problem+json");
    assert.equal(r.retryAfter, "1");
    assert.ok(!r.body.includes("    at "), "no stack trace");
  }
  // The full-queue refusals came at once, not after a wait.
  const fastShed = shed.filter((r) => r.ms < 1000);
  assert.ok(fastShed.length >= 20, `${fastShed.length} 503s within 1 s`);
  assert.ok(upstream.hits() <= 12, `${upstream.hits()} upstream requests`);
  const metrics = await (await t.get("/metrics")).text();
  assert.match(
    metrics,
    /^upstream_shed_total\{reason="queue_full",answer="refused"\} [1-9]/m,
  );
  assert.match(metrics, /^upstream_queue_waiting 0$/m);
});

Deno.test("a full queue serves the stale answer when there is one", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-concurrency",
    "1",
    "--upstream-queue-limit",
    "1",
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
  ]);
  const original = await timed(() => t.get("/posts/2"));
  assert.equal(original.status, 200);
  await sleep(1100);
  upstream.setFault("/posts/3", { delayMs: 1500 });
  // One in flight, one waiting: the queue is full.
  const busy = [
    timed(() => t.get("/posts/3")),
    timed(() => t.get("/posts/3?b")),
  ];
  await upstream.waitForRequests(1, "/posts/3");
  const stale = await timed(() => t.get("/posts/2"));
  assert.equal(stale.status, 200);
  assert.equal(stale.body, original.body);
  assert.match(stale.cacheStatus, /detail="stale-if-error"/);
  assert.ok(stale.ms < 500, `stale took ${stale.ms} ms`);
  await Promise.all(busy);
});

Deno.test("a dead upstream opens the breaker: 5 hits instead of 60, stale at once, one probe after the cooldown", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-timeout-ms",
    "2000",
    "--upstream-breaker-cooldown-ms",
    "1500",
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
  ]);
  const original = await timed(() => t.get("/posts/9"));
  await sleep(1100);
  upstream.resetHits();
  upstream.setFault("*", { drop: true });
  const results = [];
  for (let k = 0; k < 20; k++) {
    results.push(await timed(() => t.get(`/posts/1?dead=${k}`)));
  }
  // 20 requests x 3 attempts were 60 hits; the breaker opens after 5.
  assert.equal(upstream.hits(), 5);
  assert.equal(results[0]!.status, 502);
  const open = results.slice(2);
  assert.ok(open.every((r) => r.status === 503 && r.retryAfter !== null));
  let metrics = await (await t.get("/metrics")).text();
  assert.match(metrics, /^upstream_breaker_state 2$/m);
  assert.match(
    metrics,
    /^upstream_shed_total\{reason="breaker_open",answer="refused"\} [1-9]/m,
  );

  // A hanging upstream would hold stale-if-error for the whole budget (2 s);
  // with the breaker open the stale answer comes at once: the upstream is
  // not asked (still 5 hits).
  upstream.setFault("*", { delayMs: 10_000 });
  const stale = await timed(() => t.get("/posts/9"));
  assert.equal(stale.status, 200);
  assert.equal(stale.body, original.body);
  assert.match(stale.cacheStatus, /detail="stale-if-error"/);
  assert.equal(upstream.hits(), 5);

  // After the cooldown one probe goes; it succeeds and closes the breaker.
  upstream.clearFaults();
  await sleep(1600);
  const probes = await Promise.all(
    [1, 2, 3].map((n) => timed(() => t.get(`/posts/${n}?probe`))),
  );
  assert.equal(upstream.hits(), 6, "a single probe while half-open");
  assert.deepEqual(probes.map((r) => r.status).sort(), [200, 503, 503]);
  const after = await timed(() => t.get("/posts/4?after"));
  assert.equal(after.status, 200);
  metrics = await (await t.get("/metrics")).text();
  assert.match(metrics, /^upstream_breaker_state 0$/m);
});
