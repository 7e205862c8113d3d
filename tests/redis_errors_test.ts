/**
 * A Redis that answers commands with errors while connected (here `OOM`:
 * `maxmemory` reached with the `noeviction` policy, what a full Redis or a
 * too small instance says to every write). Each failed command is served as
 * a miss, as before; before, nothing told it: the shared tier stored
 * nothing, `cache_redis_up` said 1, no timeouts were counted and nothing
 * was logged. Now `cache_redis_command_errors_total` counts them and
 * `cache.redis_command_failed` says so, at most once per 10 s.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startRedis } from "./fixtures/redis.ts";
import { serveApp } from "./fixtures/served_app.ts";
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
  // At least each entry's SET (and the locks' SET NX) was refused.
  assert.ok(errors >= 5, `cache_redis_command_errors_total ${errors}`);
  const said = app.records.filter((r) =>
    r.msg === "cache.redis_command_failed"
  );
  assert.equal(said.length, 1, JSON.stringify(said));
  assert.match(String(said[0]!.error), /OOM/);
  // Nothing was stored in Redis.
  assert.equal(await redis.command("DBSIZE"), 0);
});
