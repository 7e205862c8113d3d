/**
 * Issue 13 item 2 with the shared tier (`REDIS_URL`) on a real
 * `redis-server`: a write through one instance drops the entries in Redis
 * and, by pub/sub, the in-memory copies of every other instance; an
 * instance drops from Redis what it stored just before a drop reached it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MemoryStore } from "../services/cache/memory_store.ts";
import { RedisLink } from "../services/redis/redis_link.ts";
import { TwoTierStore } from "../services/cache/two_tier.ts";
import type { TestApp } from "./fixtures/app.ts";
import { patchTitle, sharedCache } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";

async function read(t: TestApp, path: string) {
  const res = await t.get(path);
  return {
    hit: /; hit/.test(res.headers.get("cache-status") ?? ""),
    body: JSON.parse(await res.text()),
  };
}

Deno.test("REDIS_URL: a write through A drops the entries in Redis and B's in-memory copies", async () => {
  await using shared = await sharedCache(2);
  const { redis, apps: [a, b] } = shared;
  const paths = ["/posts/1", "/posts?userId=1", "/users/1/posts"];
  for (const path of paths) await read(a, path);
  // B finds them in Redis and keeps them in its memory.
  for (const path of paths) assert.ok((await read(b, path)).hit, path);
  for (const path of paths) assert.ok((await read(b, path)).hit, path);
  assert.equal(await redis.command("EXISTS", "async-api:cache:/posts/1"), 1);

  await patchTitle(a, "/posts/1", "changed");
  // Gone from Redis by the time the answer is out.
  for (const path of paths) {
    assert.equal(
      await redis.command("EXISTS", `async-api:cache:${path}`),
      0,
      path,
    );
  }
  // B's memory copy goes when the message arrives.
  let fresh: { hit: boolean; body: { title: string } } | undefined;
  await until(
    async () => {
      fresh = await read(b, "/posts/1");
      return !fresh.hit;
    },
    "B dropped its copy",
    5_000,
  );
  assert.equal(fresh!.body.title, "changed");
  const list = await read(b, "/users/1/posts");
  assert.equal(list.body[0].title, "changed");
  const metrics = await (await a.get("/metrics")).text();
  assert.match(metrics, /^cache_invalidations_total\{cause="write"\} 1$/m);
  assert.match(
    metrics,
    /^cache_invalidated_entries_total\{cause="write"\} 3$/m,
  );
});

Deno.test("two-tier store: a drop arriving from another instance deletes from Redis what this one stored just before", async () => {
  await using redis = await startRedis();
  const link = new RedisLink({ url: redis.url, timeoutMs: 1000 });
  try {
    await until(() => link.up, "Redis connected");
    const store = new TwoTierStore({
      memory: new MemoryStore({ maxBytes: 1 << 20 }),
      link,
      freshMs: 60_000,
    });
    const dropped: unknown[] = [];
    store.watchDrops((rule) => dropped.push(rule));
    const entry = {
      status: 200,
      body: new TextEncoder().encode("{}"),
      contentType: "application/json",
      etag: '"e"',
      storedAt: performance.now(),
    };
    // Stored here after the writer's DEL, before its message came.
    await store.set("/posts/1", entry, 60_000);
    await store.set("/albums/1", entry, 60_000);
    const rule = { paths: ["/posts/1"] };
    await redis.command(
      "PUBLISH",
      "async-api:cache:dropped",
      JSON.stringify({ from: "another instance", rule }),
    );
    await until(
      async () =>
        await redis.command("EXISTS", "async-api:cache:/posts/1") === 0,
      "re-DEL",
    );
    assert.deepEqual(dropped, [rule]);
    assert.equal(await store.get("/posts/1"), undefined);
    assert.ok(await store.get("/albums/1"), "what the rule does not name");
    // A malformed message is ignored.
    await redis.command("PUBLISH", "async-api:cache:dropped", "{oops");
    assert.equal(await redis.command("EXISTS", "async-api:cache:/albums/1"), 1);
  } finally {
    await link.close();
  }
});

Deno.test("REDIS_URL: a load in flight on B when a write lands on A is stored neither in Redis nor in B", async () => {
  await using shared = await sharedCache(2);
  const { upstream, redis, apps: [a, b] } = shared;
  const old = await (await fetch(`${upstream.url}/posts/1`)).text();
  upstream.resetHits();
  // B's read is answered late with what was there before the write.
  upstream.setFault("/posts/1", { delayMs: 500, body: old, times: 1 });
  const early = read(b, "/posts/1");
  await upstream.waitForRequests(1, "/posts/1");
  await patchTitle(a, "/posts/1", "changed");
  assert.notEqual((await early).body.title, "changed", "B's caller");
  await b.app.cache.settled();
  assert.equal(await redis.command("EXISTS", "async-api:cache:/posts/1"), 0);
  for (const t of [b, a]) {
    const after = await read(t, "/posts/1");
    assert.equal(after.body.title, "changed");
  }
});
