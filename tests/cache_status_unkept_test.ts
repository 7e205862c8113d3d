/**
 * `Cache-Status` (RFC 9211) says `stored` only of an answer the cache kept.
 * A body larger than `CACHE_MAX_BYTES` is refused by the in-memory store,
 * and with `REDIS_URL` kept only if Redis takes it; an answer whose key a
 * write dropped while it loaded is not kept either. Each of them said
 * `stored` before, and the next request was a miss again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cacheStatus } from "../services/cache/headers.ts";
import { MemoryStore } from "../services/cache/memory_store.ts";
import { ResponseCache } from "../services/cache/policy.ts";
import { testApp } from "./fixtures/app.ts";
import { redisInstances, sharedArgs } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** A JSON array of about `bytes` bytes, for an answer too large to keep. */
function largeList(bytes: number): string {
  const item = JSON.stringify({ id: 1, title: "x".repeat(90) });
  return `[${Array(Math.ceil(bytes / item.length)).fill(item).join(",")}]`;
}

/** The `Cache-Status` of a GET of `path`, the body read. */
async function statusOf(
  get: (path: string) => Promise<Response>,
  path: string,
): Promise<string | null> {
  const res = await get(path);
  assert.equal(res.status, 200, path);
  await res.body?.cancel();
  return res.headers.get("cache-status");
}

Deno.test("a body larger than CACHE_MAX_BYTES says stored=?0, and its next request is a miss again", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts", { body: largeList(16_384) });
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-max-bytes",
    "8192",
  ]);
  const get = (path: string) => t.get(path);
  assert.equal(
    await statusOf(get, "/posts"),
    "async-api; fwd=miss; stored=?0",
  );
  assert.equal(
    await statusOf(get, "/posts"),
    "async-api; fwd=miss; stored=?0",
  );
  assert.equal(upstream.hits("/posts"), 2, "not kept: fetched again");
  // A small answer still fits, and is what it says.
  assert.equal(await statusOf(get, "/posts/1"), "async-api; fwd=miss; stored");
  assert.match((await statusOf(get, "/posts/1"))!, /^async-api; hit; ttl=/);
});

Deno.test("with REDIS_URL, a body the front refuses is stored when Redis takes it, stored=?0 when Redis refuses it too", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts", { body: largeList(16_384) });
  await using redis = await startRedis();
  await using apps = await redisInstances(
    2,
    sharedArgs(upstream.url, redis.url, "--cache-max-bytes", "8192"),
  );
  const [a, b] = apps;
  assert.equal(
    await statusOf(a.get, "/posts"),
    "async-api; fwd=miss; stored",
  );
  // In Redis only: the other instance (and this one) reads it there.
  assert.match((await statusOf(b.get, "/posts"))!, /^async-api; hit; /);
  assert.equal(upstream.hits("/posts"), 1);
  // Redis out of memory refuses every write (noeviction): kept nowhere.
  await redis.command("FLUSHALL");
  await redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction");
  await redis.command("CONFIG", "SET", "maxmemory", "1");
  assert.equal(
    await statusOf(a.get, "/posts"),
    "async-api; fwd=miss; stored=?0",
  );
  assert.equal(upstream.hits("/posts"), 2);
});

Deno.test("an answer whose key a write dropped while it loaded says stored=?0", async () => {
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
  });
  const loading = Promise.withResolvers<void>();
  const loaded = Promise.withResolvers<void>();
  const lookup = cache.get("/posts/1", async () => {
    loading.resolve();
    await loaded.promise;
    return {
      status: 200,
      body: new TextEncoder().encode('{"id":1}'),
      contentType: "application/json",
    };
  });
  await loading.promise;
  await cache.invalidate({ paths: ["/posts/1"] }, "write");
  loaded.resolve();
  const result = await lookup;
  assert.equal(cacheStatus(result), "async-api; fwd=miss; stored=?0");
  assert.equal(await cache.store.get("/posts/1"), undefined);
});
