/**
 * A memory copy demoted by a resubscription (Redis restarted empty) while
 * the upstream hangs: the next request asks the upstream (the copy may
 * have been purged meanwhile), waits out `UPSTREAM_TIMEOUT_MS`, and is
 * then answered with the copy, stale-if-error; requests of the same key
 * at once share that one wait; once the breaker opens, the copy is served
 * without asking. What README's Shared cache says a demoted copy costs.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TestApp } from "./fixtures/app.ts";
import { linkOf, metric, sharedCache } from "./fixtures/redis_apps.ts";
import { until } from "./fixtures/until.ts";

/** GETs `path` through `t`: its status and `Cache-Status`. */
async function answer(t: TestApp, path: string): Promise<string> {
  const res = await t.get(path);
  await res.body?.cancel();
  return `${res.status} ${res.headers.get("cache-status")}`;
}

const STALE_IF_ERROR = /^200 .*fwd=stale; ttl=\d+; detail="stale-if-error"$/;

Deno.test("REDIS_URL: a demoted copy while the upstream hangs is served stale-if-error after the upstream's timeout, the wait shared", async () => {
  await using shared = await sharedCache(1, [
    "--cache-ttl-seconds",
    "60",
    "--upstream-timeout-ms",
    "500",
    "--upstream-retries",
    "0",
    "--upstream-breaker-threshold",
    "3",
    "--upstream-breaker-cooldown-ms",
    "60000",
  ]);
  const { upstream, redis, apps: [t] } = shared;
  try {
    assert.match(await answer(t, "/posts/1"), /^200 .*fwd=miss/);
    await redis.restart();
    await until(() => linkOf(t).listening, "subscribed again");
    await until(
      async () => await metric(t, "cache_redis_resyncs_total") >= 1,
      "the memory tier demoted",
    );
    upstream.setFault("*", { delayMs: 30_000 });
    upstream.resetHits();
    // Three at once: one upstream request, all answered from the copy.
    const first = await Promise.all([1, 2, 3].map(() => answer(t, "/posts/1")));
    for (const line of first) assert.match(line, STALE_IF_ERROR);
    assert.equal(upstream.hits("/posts/1"), 1);
    // Each next request asks again, until the breaker opens (3 failures).
    for (let i = 0; i < 4; i++) {
      assert.match(await answer(t, "/posts/1"), STALE_IF_ERROR);
    }
    assert.equal(
      upstream.hits("/posts/1"),
      3,
      "asked until the breaker opened",
    );
  } finally {
    upstream.clearFaults();
  }
});
