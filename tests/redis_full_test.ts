/**
 * A Redis out of memory (`maxmemory` 1mb, `noeviction`) refuses every
 * write with `OOM`. Each cache miss still sent two writes bound to be
 * refused, the single-flight's lock and then the entry (280 OOM replies
 * for 149 requests), and nothing held off as the pause after a timeout
 * does for a slow Redis. Now a refusal for memory pauses the writes
 * (locks, entries) for `FULL_PAUSE_MS`, says so in one `cache.redis_full`
 * line, counts what it skipped (`cache_redis_writes_skipped_total`), then
 * tries again; reads go on. Against a real `redis-server`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RespError } from "./fixtures/resp.ts";
import {
  linkOf,
  metric,
  read,
  recordingLogger,
  sharedCache,
} from "./fixtures/redis_apps.ts";
import type { RedisServer } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";

const REQUESTS = 40;

/** Sets `maxmemory` 1mb with `noeviction`, and fills Redis till a SET is refused. */
async function fillRedis(redis: RedisServer): Promise<void> {
  await redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction");
  await redis.command("CONFIG", "SET", "maxmemory", "1mb");
  const filler = "x".repeat(64 * 1024);
  for (let i = 0;; i++) {
    try {
      await redis.command("SET", `filler:${i}`, filler);
    } catch (error) {
      assert.ok(error instanceof RespError, String(error));
      assert.match(error.message, /^OOM/);
      return;
    }
    assert.ok(i < 64, "Redis at maxmemory 1mb took 4 MiB");
  }
}

Deno.test("REDIS_URL: a Redis out of memory (OOM) has writes paused after a refusal, said once, reads still served, writes again once it has room", async () => {
  const log = recordingLogger();
  await using shared = await sharedCache(2, [], log.logger);
  const { redis, upstream, apps: [a, b] } = shared;
  // Stored in Redis before it is full: B reads it there while full.
  assert.equal((await read(a, "/posts/100")).body.title !== undefined, true);
  await fillRedis(redis);
  const before = linkOf(b).failures;
  for (let i = 1; i <= REQUESTS; i++) {
    const { body } = await read(b, `/posts/${i}`);
    assert.equal((body as { id?: number }).id, i);
  }
  const refused = linkOf(b).failures - before;
  // Before: two refused writes a request (80). One a pause now; a pause
  // is 1 s, and 40 requests take less than a few of them here.
  assert.ok(refused >= 1, `${refused} refused`);
  assert.ok(refused < REQUESTS / 4, `${refused} refused writes`);
  assert.ok(linkOf(b).writesSkipped > 0);
  assert.ok(await metric(b, "cache_redis_writes_skipped_total") > 0);
  const full = log.records().filter((r) => r.msg === "cache.redis_full");
  assert.ok(full.length >= 1 && full.length <= 2, JSON.stringify(full));
  assert.match(String(full[0]!.error), /^OOM/);
  assert.deepEqual(
    log.records().filter((r) => r.msg === "cache.redis_command_failed"),
    [],
  );
  // Reads go on: B (not holding it) is served A's entry from Redis.
  assert.ok((await read(b, "/posts/100")).hit);
  assert.equal(upstream.hits("/posts/100"), 1);

  // Nothing stored while full but A's entry from before.
  const entries = async () =>
    (await redis.command("KEYS", "async-api:cache:*") as string[]).length;
  assert.equal(await entries(), 1);

  // Room again: the pause ends and the writes go through.
  await redis.command("CONFIG", "SET", "maxmemory", "0");
  let next = REQUESTS;
  await until(async () => {
    await read(b, `/posts/${++next}`);
    return await entries() > 1;
  }, "an entry stored in Redis again");
});
