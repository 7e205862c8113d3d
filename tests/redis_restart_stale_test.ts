/**
 * Stale-if-error across a Redis restart or pause, on a real `redis-server`, two
 * in-process instances and the loopback upstream answering 500: the
 * instances' memory copies, which they can no longer vouch for once their
 * subscribers come back (drops may have been missed), are demoted, not
 * dropped: revalidated with the upstream on the next request, and served
 * stale-if-error while it fails. The restarted Redis is empty, so dropping
 * them left nothing to serve (502 on main); a paused one answers nothing,
 * and a silent subscriber dropped them too (502 and 503 on main).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import type { TestApp } from "./fixtures/app.ts";
import {
  cachedOnBoth,
  linkOf,
  metric,
  read,
  sharedCache,
} from "./fixtures/redis_apps.ts";
import { until } from "./fixtures/until.ts";
import { heldEntry, untilAged } from "./fixtures/entry_age.ts";

/** GETs `path` through `t`: its status and `Cache-Status`. */
async function answer(
  t: TestApp,
  path: string,
): Promise<{ status: number; cacheStatus: string }> {
  const res = await t.get(path);
  await res.body?.cancel();
  return {
    status: res.status,
    cacheStatus: res.headers.get("cache-status") ?? "",
  };
}

Deno.test("REDIS_URL: Redis restarted while the upstream answers 500: both instances keep serving stale-if-error, each after asking the upstream again", async () => {
  await using shared = await sharedCache(2, ["--cache-ttl-seconds", "1"]);
  const { upstream, redis, apps: [a, b] } = shared;
  await cachedOnBoth(a, b, "/posts/1");
  const entries = [a, b].map((t) => heldEntry(t.app.cache, "/posts/1"));
  upstream.setFault("/posts/1", { status: 500 });
  await redis.stop();
  await until(() => !linkOf(a).up && !linkOf(b).up, "Redis down seen");
  await untilAged(entries, 1000); // past the TTL
  for (const t of [a, b]) {
    assert.equal((await answer(t, "/posts/1")).status, 200, "Redis down");
  }

  await redis.restart();
  await until(
    () => linkOf(a).listening && linkOf(b).listening,
    "both subscribed again",
  );
  for (const t of [a, b]) {
    await until(
      async () => await metric(t, "cache_redis_resyncs_total") >= 1,
      "resubscription handled",
    );
  }
  for (const t of [a, b]) {
    upstream.resetHits();
    const { status, cacheStatus } = await answer(t, "/posts/1");
    assert.equal(status, 200, "Redis back, upstream failing");
    assert.match(cacheStatus, /fwd=stale/, cacheStatus);
    // Not served blindly: the upstream was asked first.
    assert.ok(upstream.hits("/posts/1") >= 1, "the upstream asked");
  }

  // The upstream recovers: the next request gets its answer, and the
  // one after is a memory hit again.
  upstream.clearFaults();
  for (const t of [a, b]) {
    const { status } = await answer(t, "/posts/1");
    assert.equal(status, 200);
    assert.ok((await read(t, "/posts/1")).hit, "a memory hit again");
  }
});

Deno.test("REDIS_URL: Redis paused (SIGSTOP) while the upstream answers 500: every answer of both instances is 200, during the pause and after", async () => {
  await using shared = await sharedCache(2, [
    "--cache-ttl-seconds",
    "1",
    "--redis-ping-interval-ms",
    "300",
    "--redis-timeout-ms",
    "200",
  ]);
  const { upstream, redis, apps } = shared;
  const [a, b] = apps;
  await cachedOnBoth(a, b, "/posts/1");
  const entries = apps.map((t) => heldEntry(t.app.cache, "/posts/1"));
  upstream.setFault("/posts/1", { status: 500 });
  const answers: string[] = [];
  /** Resolves once both instances have answered `rounds` times more. */
  const answeredMore = (rounds: number) => {
    const mark = answers.length + rounds * apps.length;
    return until(() => answers.length >= mark, `${rounds} rounds answered`);
  };
  let asking = true;
  const client = (async () => {
    while (asking) {
      for (const t of apps) {
        const { status, cacheStatus } = await answer(t, "/posts/1");
        answers.push(`${status} ${cacheStatus}`);
      }
      await sleep(50);
    }
  })();
  try {
    await answeredMore(2);
    redis.pause();
    // Past two PING periods: both subscribers are found silent.
    await until(
      async () =>
        await metric(a, "cache_redis_silent_connections_total") >= 1 &&
        await metric(b, "cache_redis_silent_connections_total") >= 1,
      "both found Redis silent",
    );
    // Past the TTL while paused: answered from memory or the upstream.
    await untilAged(entries, 1000);
    await answeredMore(2);
  } finally {
    redis.resume();
  }
  await until(
    () => linkOf(a).listening && linkOf(b).listening,
    "both subscribed again",
  );
  await answeredMore(2);
  asking = false;
  await client;
  const failed = answers.filter((line) => !line.startsWith("200 "));
  // Each phase (before, during and after the pause) waited for two rounds
  // of answers of both instances: none failed.
  assert.deepEqual(failed, [], `${failed.length} of ${answers.length}`);
});
