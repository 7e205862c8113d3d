/**
 * Upstream waits are bounded: the wait for a slot counts against the
 * request's budget, a full wait queue answers 503 at once (or stale), and a
 * circuit breaker keeps a dead upstream from getting every attempt of every
 * request while stale-if-error answers at once. "At once" is shown by order
 * of events against an upstream that holds its answers (the fixture's
 * `hold`), not by a time bound: the machine may be loaded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { within } from "./fixtures/files_service.ts";
import { heldEntry, untilAged } from "./fixtures/entry_age.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";

/** Status, `Retry-After`, cache status, content type and body of one GET. */
async function answered(get: () => Promise<Response>) {
  const res = await get();
  const body = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    cacheStatus: res.headers.get("cache-status") ?? "",
    contentType: res.headers.get("content-type"),
    body,
  };
}

const QUEUE_FULL = /too many upstream requests are waiting already/;
// What only the budget (2.5 s) ends: an attempt unanswered, or a wait for a
// slot that never came free.
const BUDGET_SPENT =
  /upstream did not answer within 2500 ms|no upstream slot came free within 2500 ms/;

Deno.test("40 misses against an upstream that never answers: none waits past the budget, a full queue answers 503 at once", async () => {
  await using upstream = startFixtureUpstream();
  // The upstream holds every answer until the end: whatever the 40 get,
  // they get from the app's own limits, which is what is tested (before,
  // the waits were unbounded: 10 rounds of the upstream's pace).
  const never = Promise.withResolvers<void>();
  upstream.setFault(/^\/posts\/1\?/, { hold: never.promise });
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
  // The order the answers came in.
  const order: Awaited<ReturnType<typeof answered>>[] = [];
  let results;
  try {
    results = await within(
      Promise.all(
        Array.from({ length: 40 }, async (_, k) => {
          const r = await answered(() => t.get(`/posts/1?k=${k}`));
          order.push(r);
          return r;
        }),
      ),
      "every answer, while the upstream answers none",
    );
  } finally {
    never.resolve();
  }
  // 4 in flight and 8 waiting; the other 28 cannot wait.
  const shed = results.filter((r) => QUEUE_FULL.test(r.body));
  assert.equal(shed.length, 28);
  // The other 12 ended by the budget (in flight: 504; waiting: 503), none
  // by an upstream answer.
  for (const r of results.filter((r) => !QUEUE_FULL.test(r.body))) {
    assert.match(r.body, BUDGET_SPENT);
  }
  // The full-queue refusals came at once: each before any answer the
  // budget ended.
  assert.ok(
    order.slice(0, 28).every((r) => QUEUE_FULL.test(r.body)),
    "a full-queue 503 came after the budget ended a request",
  );
  for (const r of shed) {
    assert.equal(r.status, 503);
    assert.equal(r.contentType, "application/problem+json");
    assert.equal(r.retryAfter, "1");
    assert.ok(!r.body.includes("    at "), "no stack trace");
  }
  assert.ok(upstream.hits() <= 12, `${upstream.hits()} upstream requests`);
  const metrics = await (await t.get("/metrics")).text();
  assert.match(
    metrics,
    /^upstream_shed_total\{reason="queue_full",answer="refused"\} 28$/m,
  );
  assert.match(metrics, /^upstream_queue_waiting 0$/m);
});

Deno.test("a full queue serves the stale answer when there is one, without waiting for a slot", async () => {
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
  const original = await answered(() => t.get("/posts/2"));
  assert.equal(original.status, 200);
  // Past the 1 s TTL: /posts/2 is stale.
  await untilAged(heldEntry(t.app.cache, "/posts/2"), 1000);
  // The upstream holds /posts/3 until the stale answer has come.
  const release = Promise.withResolvers<void>();
  upstream.setFault("/posts/3", { hold: release.promise });
  // One in flight, one waiting: the queue is full.
  let busySettled = 0;
  const busy = [
    answered(() => t.get("/posts/3")),
    answered(() => t.get("/posts/3?b")),
  ].map((p) => p.finally(() => busySettled++));
  let stale;
  try {
    await upstream.waitForRequests(1, "/posts/3");
    stale = await within(answered(() => t.get("/posts/2")), "the stale answer");
    // It came while the one slot was still taken (the upstream still
    // holding the first, the second still waiting), not once it came free.
    assert.equal(busySettled, 0, "the stale answer waited for a slot");
    assert.equal(upstream.hits("/posts/3"), 1);
  } finally {
    release.resolve();
  }
  assert.equal(stale.status, 200);
  assert.equal(stale.body, original.body);
  assert.match(stale.cacheStatus, /detail="stale-if-error"/);
  // Released, the held call and the waiting one are answered.
  const done = await Promise.all(busy);
  assert.deepEqual(done.map((r) => r.status), [200, 200]);
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
  const original = await answered(() => t.get("/posts/9"));
  await untilAged(heldEntry(t.app.cache, "/posts/9"), 1000);
  upstream.resetHits();
  upstream.setFault("*", { drop: true });
  const results = [];
  for (let k = 0; k < 20; k++) {
    results.push(await answered(() => t.get(`/posts/1?dead=${k}`)));
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
  const stale = await answered(() => t.get("/posts/9"));
  assert.equal(stale.status, 200);
  assert.equal(stale.body, original.body);
  assert.match(stale.cacheStatus, /detail="stale-if-error"/);
  assert.equal(upstream.hits(), 5);

  // After the cooldown one probe goes; it succeeds and closes the breaker.
  upstream.clearFaults();
  await until(
    () => t.app.client.breakerState === "half_open",
    "the breaker cooled down",
  );
  const probes = await Promise.all(
    [1, 2, 3].map((n) => answered(() => t.get(`/posts/${n}?probe`))),
  );
  assert.equal(upstream.hits(), 6, "a single probe while half-open");
  assert.deepEqual(probes.map((r) => r.status).sort(), [200, 503, 503]);
  const after = await answered(() => t.get("/posts/4?after"));
  assert.equal(after.status, 200);
  metrics = await (await t.get("/metrics")).text();
  assert.match(metrics, /^upstream_breaker_state 0$/m);
});
