/**
 * Redis going down while requests on one instance wait on another's
 * single-flight lock: the waiters load the key themselves once their
 * connection is lost, not when the lock's whole life has run out. Found by
 * stopping `redis-server` under load on cached GETs over two instances:
 * the waiters on B could never hear A's announcement (B's subscriber was
 * down) and could not read the entry, yet waited `UPSTREAM_TIMEOUT_MS` + 1 s
 * (7.5 s with the default 5 s and a 1.5 s upstream) before loading it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { linkOf, recordingLogger, sharedCache } from "./fixtures/redis_apps.ts";
import type { TestApp } from "./fixtures/app.ts";
import { until } from "./fixtures/until.ts";

/** Prints a measured figure. */
function report(line: string) {
  // deno-lint-ignore no-console
  console.log(line);
}

/** How many times `redis` ran `command` (INFO commandstats). */
async function commandCalls(
  redis: { command(...args: string[]): Promise<unknown> },
  command: string,
): Promise<number> {
  const stats = String(await redis.command("INFO", "commandstats"));
  const calls = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m");
  return Number(calls.exec(stats)?.[1] ?? 0);
}

/** GETs `path` through each app in `on` at once; resolves the statuses. */
async function getAll(on: TestApp[], path: string): Promise<number[]> {
  return await Promise.all(on.map(async (t) => {
    const res = await t.get(path);
    await res.body?.cancel();
    return res.status;
  }));
}

Deno.test("REDIS_URL: Redis stopped while B waits on A's lock: B loads the key itself at once, not after the lock's life; single-flight again once Redis is back", async () => {
  const { logger, msgs } = recordingLogger();
  // A lock lives UPSTREAM_TIMEOUT_MS + 1 s: 16 s, far from what the
  // waiters may take once they load by themselves.
  await using shared = await sharedCache(
    2,
    ["--upstream-timeout-ms", "15000"],
    logger,
  );
  const { upstream, redis, apps: [a, b] } = shared;
  // A holds the lock for 3 s (its upstream load); B's requests wait on it.
  upstream.setFault("/posts/3", { delayMs: 3_000, times: 1 });
  const owner = a.get("/posts/3");
  await until(() => upstream.hits("/posts/3") === 1, "A loads /posts/3");
  const waiting = getAll([b, b, b, b], "/posts/3");
  // B's waiters are parked on A's lock once their wait loop has asked
  // Redis whether the lock is still held (EXISTS, every lease / 4).
  await until(
    async () => await commandCalls(redis, "exists") >= 1,
    "B waiting on A's lock",
  );
  const stopped = performance.now();
  await redis.stop();
  const statuses = await waiting;
  const waited = performance.now() - stopped;
  assert.deepEqual(statuses, [200, 200, 200, 200]);
  assert.ok(
    waited < 8_000,
    `B's waiters answered ${Math.round(waited)} ms after Redis stopped ` +
      "(the lock lives 16 s)",
  );
  const first = await owner;
  assert.equal(first.status, 200);
  await first.body?.cancel();
  // B loaded it once for its four requests.
  assert.equal(upstream.hits("/posts/3"), 2);
  report(`B's waiters answered ${Math.round(waited)} ms after the stop`);

  // While Redis is down each instance loads a cold key once.
  await until(() => !linkOf(a).up && !linkOf(b).up, "Redis down seen");
  upstream.setFault("/posts/4", { delayMs: 300, times: 1 });
  assert.deepEqual(await getAll([a, b, a, b], "/posts/4"), [
    200,
    200,
    200,
    200,
  ]);
  assert.ok(upstream.hits("/posts/4") <= 2, `${upstream.hits("/posts/4")}`);
  // Said once per instance, not per request.
  assert.equal(msgs().filter((m) => m === "cache.redis_down").length, 2);

  // Back: one load cluster-wide again.
  await redis.restart();
  await until(() => linkOf(a).up && linkOf(b).up, "Redis back");
  upstream.setFault("/posts/5", { delayMs: 300, times: 1 });
  const statusesBack = await getAll([a, b, a, b, a, b], "/posts/5");
  assert.deepEqual(statusesBack, [200, 200, 200, 200, 200, 200]);
  assert.equal(upstream.hits("/posts/5"), 1);
  assert.equal(msgs().filter((m) => m === "cache.redis_up").length, 4);
});
