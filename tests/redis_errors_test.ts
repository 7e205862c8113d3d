/**
 * A Redis that answers commands with errors while connected (here `OOM`:
 * `maxmemory` reached with the `noeviction` policy, what a full Redis or a
 * too small instance says to every write). Each failed command is served as
 * a miss, as before; before, nothing told it: the shared tier stored
 * nothing, `cache_redis_up` said 1, no timeouts were counted and nothing
 * was logged. Now `cache_redis_command_errors_total` counts them and
 * `cache.redis_command_failed` says so, at most once per 10 s (an `OOM`:
 * `cache.redis_full`, the writes paused a while). A Redis
 * that stalls (`CLIENT PAUSE`) times commands out: each a miss, counted
 * in `cache_redis_timeouts_total`, and now said as `cache.redis_slow`, at
 * most once per 10 s (before, the log said nothing).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startRedis } from "./fixtures/redis.ts";
import { linkOf } from "./fixtures/redis_apps.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { until } from "./fixtures/until.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("REDIS_URL: a Redis refusing writes (OOM) is counted and logged once, and every read is still answered", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  assert.equal(await redis.command("CONFIG", "SET", "maxmemory", "1"), "OK");
  assert.equal(
    await redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction"),
    "OK",
  );
  await using app = await serveApp({
    args: ["--upstream-url", upstream.url, "--redis-url", redis.url],
  });
  for (let i = 1; i <= 5; i++) {
    const res = await fetch(`${app.url}/posts/${i}`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, i);
  }
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  assert.match(metrics, /^cache_redis_up 1$/m);
  const errors = Number(
    /^cache_redis_command_errors_total (\d+)$/m.exec(metrics)?.[1],
  );
  // The first write refused; those after it in the pause not sent
  // (tests/redis_full_test.ts).
  assert.ok(errors >= 1, `cache_redis_command_errors_total ${errors}`);
  const said = app.records.filter((r) => r.msg === "cache.redis_full");
  assert.equal(said.length, 1, JSON.stringify(said));
  assert.match(String(said[0]!.error), /OOM/);
  // Nothing was stored in Redis.
  assert.equal(await redis.command("DBSIZE"), 0);
});

Deno.test("REDIS_URL: a Redis too slow to answer is logged once, named, and every read is still answered", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await using app = await serveApp({
    args: [
      "--upstream-url",
      upstream.url,
      "--redis-url",
      redis.url,
      "--redis-timeout-ms",
      "100",
    ],
  });
  // Two stalls of Redis (each longer than the timeout, shorter than the
  // liveness PINGs' two periods), a read sent into each, the second once
  // the link sends commands again after the first (its pause after a
  // timeout over): else the second read skips Redis and times nothing out.
  const link = linkOf(app);
  for (const i of [1, 2]) {
    await until(() => link.usable, "Redis link usable again");
    assert.equal(await redis.command("CLIENT", "PAUSE", "400", "ALL"), "OK");
    const res = await fetch(`${app.url}/posts/${i}`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, i);
    assert.ok(link.timeouts >= i, `stall ${i}: ${link.timeouts} timeouts`);
  }
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  const timeouts = Number(
    /^cache_redis_timeouts_total (\d+)$/m.exec(metrics)?.[1],
  );
  assert.ok(timeouts >= 2, `cache_redis_timeouts_total ${timeouts}`);
  const said = app.records.filter((r) => r.msg === "cache.redis_slow");
  assert.equal(said.length, 1, JSON.stringify(said));
  assert.equal(said[0]!.timeoutMs, 100);
  assert.equal(said[0]!.level, "warn");
});
