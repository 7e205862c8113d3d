/**
 * Revalidation with the shared tier (`REDIS_URL`) against a real
 * `redis-server`: entries carry the upstream's validators through Redis, a
 * renewal rewrites only the entry's header there (the body is not sent
 * again), and an entry renewed by one instance is fresh for the others.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { MemoryStore } from "../services/cache/memory_store.ts";
import { RedisLink } from "../services/redis/redis_link.ts";
import type { CacheEntry } from "../services/cache/store.ts";
import { TwoTierStore } from "../services/cache/two_tier.ts";
import { testApp } from "./fixtures/app.ts";
import { retentionMs, untilAgedInRedis } from "./fixtures/entry_age.ts";
import { startRedis } from "./fixtures/redis.ts";
import { sharedArgs } from "./fixtures/redis_apps.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** Waits (bounded) until every link is connected. */
async function connected(...links: RedisLink[]): Promise<void> {
  for (let waited = 0; !links.every((link) => link.up); waited += 10) {
    if (waited > 10_000) throw new Error("Redis did not connect");
    await sleep(10);
  }
}

/**
 * `actual` is the time `expected` on the reader's clock: an entry comes
 * back from Redis as old as its PTTL says, within the commands' delay.
 */
function assertAbout(actual: number | undefined, expected: number): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) < 1_000,
    `${actual} is not about ${expected}`,
  );
}

function twoTier(link: RedisLink, freshMs = 1_000): TwoTierStore {
  return new TwoTierStore({
    memory: new MemoryStore({ maxBytes: 1 << 20 }),
    link,
    freshMs,
  });
}

Deno.test("two-tier store: validators travel through Redis; a renewal rewrites the header and leaves the body", async () => {
  await using redis = await startRedis();
  const link = new RedisLink({ url: redis.url, timeoutMs: 1000 });
  const other = new RedisLink({ url: redis.url, timeoutMs: 1000 });
  try {
    await connected(link, other);
    const writer = twoTier(link);
    const body = new Uint8Array(2048).map((_, i) => (i * 131) % 256);
    const entry: CacheEntry = {
      status: 200,
      body,
      contentType: "application/json",
      etag: '"ours"',
      storedAt: performance.now() - 5_000,
      validators: {
        etag: 'W/"800-x"',
        lastModified: "Tue, 01 Dec 2026 10:00:00 GMT",
      },
    };
    await writer.set("/posts/1", entry, 60_000);
    const read = await twoTier(other).get("/posts/1");
    assert.deepEqual(read?.validators, entry.validators);

    // The renewal is handed no body at all: what Redis keeps afterwards
    // shows the body stayed where it was.
    const storedAt = performance.now();
    await writer.renew("/posts/1", {
      ...entry,
      body: new Uint8Array(),
      storedAt,
      validators: { etag: 'W/"800-x"' },
    }, 30_000);
    const renewed = await twoTier(other).get("/posts/1");
    assert.ok(renewed);
    assertAbout(renewed.storedAt, storedAt);
    assert.deepEqual(renewed.body, body);
    assert.deepEqual(renewed.validators, { etag: 'W/"800-x"' });
    const pttl = await redis.command("PTTL", "async-api:cache:/posts/1");
    assert.ok(typeof pttl === "number" && pttl > 25_000 && pttl <= 30_000);

    // Another body landed meanwhile (another ETag of ours): left alone.
    await writer.set("/posts/1", { ...entry, etag: '"newer"' }, 60_000);
    await writer.renew("/posts/1", { ...entry, storedAt }, 60_000);
    const kept = await twoTier(other).get("/posts/1");
    assert.equal(kept?.etag, '"newer"');

    // Gone from Redis (expired): the renewal puts the whole entry back.
    await redis.command("DEL", "async-api:cache:/posts/2");
    await writer.renew("/posts/2", entry, 60_000);
    assert.deepEqual((await twoTier(other).getShared("/posts/2"))?.body, body);
  } finally {
    await link.close();
    await other.close();
  }
});

Deno.test("two-tier store: a stale front entry renewed in Redis by another instance comes back as its header only", async () => {
  await using redis = await startRedis();
  const link = new RedisLink({ url: redis.url, timeoutMs: 1000 });
  const other = new RedisLink({ url: redis.url, timeoutMs: 1000 });
  try {
    await connected(link, other);
    const writer = twoTier(link);
    // Its front entries are never fresh: each read asks Redis.
    const reader = twoTier(other, 0);
    const entry: CacheEntry = {
      status: 200,
      body: new TextEncoder().encode('{"id":1}'),
      contentType: "application/json",
      etag: '"one"',
      storedAt: performance.now() - 5_000,
      validators: { etag: 'W/"8-a"' },
    };
    await writer.set("/posts/1", entry, 60_000);
    const held = (await reader.get("/posts/1"))!.body;
    // The writer renews (its 304, 2 s ago); the reader's front copy is stale.
    const storedAt = performance.now() - 2_000;
    await writer.renew("/posts/1", { ...entry, storedAt }, 60_000);
    const renewed = await reader.get("/posts/1");
    assertAbout(renewed?.storedAt, storedAt);
    // The very bytes the reader held: no body came from Redis, no copy.
    assert.equal(renewed?.body, held);
    assert.equal((await reader.get("/posts/1"))?.body, held);
    // A new body (another ETag) comes whole. Stored now, 2 s after the
    // renewal: each write reads back older by up to its trip to Redis (ms
    // under load), so 1 ms after could read as older than the renewal.
    const next = { ...entry, etag: '"two"', body: new Uint8Array([1, 2, 3]) };
    await writer.set(
      "/posts/1",
      { ...next, storedAt: performance.now() },
      60_000,
    );
    assert.deepEqual((await reader.get("/posts/1"))?.body, next.body);
  } finally {
    await link.close();
    await other.close();
  }
});

Deno.test("REDIS_URL: instance B renews A's stale entry with a 304; A then serves it fresh without the upstream", async () => {
  await using upstream = startFixtureUpstream({ validators: { etag: true } });
  await using redis = await startRedis();
  const args = sharedArgs(
    upstream.url,
    redis.url,
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
  );
  await using a = await testApp(args);
  await using b = await testApp(args);
  const links = [a, b].map((t) => (t.app.cache.store as TwoTierStore).link);
  await connected(...links);

  const first = await a.get("/posts/1");
  const body = await first.text();
  // Past the 1 s TTL as B, holding no copy, counts it: its retention less
  // Redis's PTTL, not A's clock (a sleep missed B's view by the SET's trip
  // under load).
  await untilAgedInRedis(redis, "/posts/1", retentionMs(a.config), 1000);
  upstream.resetHits();
  const renewed = await b.get("/posts/1");
  assert.equal(await renewed.text(), body);
  assert.equal(renewed.headers.get("etag"), first.headers.get("etag"));
  assert.match(renewed.headers.get("cache-status")!, /fwd-status=304/);
  // B revalidated with the validators A stored in Redis.
  assert.equal(upstream.hits(), 1);
  assert.match(upstream.requests[0]!.headers.get("if-none-match")!, /^W\//);
  assert.equal(upstream.bodyBytesSent, 0);

  const fromA = await a.get("/posts/1");
  assert.equal(await fromA.text(), body);
  assert.match(fromA.headers.get("cache-status")!, /; hit;/);
  assert.equal(upstream.hits(), 1);
});
