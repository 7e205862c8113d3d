/**
 * `upstream_shed_total` says what answered a shed call's request. Under a
 * wrk load test (-c64, 500 keys, a 1 s TTL, the real JSONPlaceholder) it
 * rose by 21,125 for `client_share` while clients got 4,090 503s: the
 * other 17,035 were background refreshes of entries already served stale
 * (`cache_revalidations_total{outcome="error"}` 17,035), counted as if
 * refused. Its `answer` label now tells `refused` (503) from `stale` (a
 * stored copy answered: a background refresh, or a miss within
 * stale-if-error).
 *
 * Real sockets on loopback: the app on a free port over a Deno upstream
 * on port 0, one upstream slot and no queue, so one address's share is a
 * single call; a slow cold key holds it while the others are asked.
 *
 * @module
 */

import { serveSlowComments } from "./fixtures/slow_comments.ts";
import assert from "node:assert/strict";

/** The value of `upstream_shed_total` for `reason` and `answer`. */
function shedCount(metrics: string, reason: string, answer: string): number {
  const line = metrics.split("\n").find((l) =>
    l.startsWith("upstream_shed_total{") &&
    l.includes(`reason="${reason}"`) && l.includes(`answer="${answer}"`)
  );
  assert.ok(line, `no upstream_shed_total for ${reason}, ${answer}`);
  return Number(line.split(" ").at(-1));
}

/**
 * The slow-comments app with one upstream slot and no wait queue (later
 * flags win), then `more`.
 */
function oneSlotApp(more: string[]) {
  return serveSlowComments([
    "--upstream-concurrency",
    "1",
    "--upstream-queue-limit",
    "0",
    ...more,
  ]);
}

Deno.test("a background refresh shed by the client's share is counted answer=stale (its request got the stale copy), a cold miss shed answer=refused", async () => {
  // TTL 0: every later read of a stored key is stale, refreshed behind it.
  await using app = await oneSlotApp(["--cache-ttl-seconds", "0"]);
  const { served, upstream } = app;
  const primed = await fetch(`${served.url}/posts/1`);
  assert.equal(primed.status, 200, await primed.text());
  // This address's one place: a slow cold key.
  const holding = fetch(`${served.url}/comments?postId=1`);
  await upstream.waitForRequests(1, /^\/comments\?/);
  const stale = await fetch(`${served.url}/posts/1`);
  assert.equal(stale.status, 200, await stale.text());
  assert.match(stale.headers.get("cache-status") ?? "", /fwd=stale/);
  const cold = await fetch(`${served.url}/posts/2`);
  await cold.body?.cancel();
  assert.equal(cold.status, 503);
  assert.equal((await holding).status, 200);
  await (await holding).body?.cancel();
  const metrics = await (await fetch(`${served.url}/metrics`)).text();
  // Before: upstream_shed_total{reason="client_share"} 2, one 503 sent.
  assert.equal(shedCount(metrics, "client_share", "stale"), 1);
  assert.equal(shedCount(metrics, "client_share", "refused"), 1);
  assert.equal(upstream.hits("/posts/1"), 1);
});

Deno.test("a miss shed while a stale-if-error copy stands in is counted answer=stale", async () => {
  // No stale-while-revalidate: a stored key past its TTL is loaded in the
  // foreground, its copy standing in only if that fails.
  await using app = await oneSlotApp([
    "--cache-ttl-seconds",
    "0",
    "--cache-stale-while-revalidate-seconds",
    "0",
  ]);
  const { served, upstream } = app;
  await (await fetch(`${served.url}/posts/1`)).body?.cancel();
  const holding = fetch(`${served.url}/comments?postId=1`);
  await upstream.waitForRequests(1, /^\/comments\?/);
  const answered = await fetch(`${served.url}/posts/1`);
  assert.equal(answered.status, 200, await answered.text());
  assert.match(answered.headers.get("cache-status") ?? "", /fwd=stale/);
  await (await holding).body?.cancel();
  const metrics = await (await fetch(`${served.url}/metrics`)).text();
  assert.equal(shedCount(metrics, "client_share", "stale"), 1);
  assert.equal(shedCount(metrics, "client_share", "refused"), 0);
});
