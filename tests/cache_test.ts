/**
 * The response cache (`ResponseCache`) and its in-memory store
 * (`MemoryStore`): fresh hits, collapsed misses, stale-while-revalidate and
 * stale-if-error, failures never cached, the store's byte bound and
 * evictions, what an entry counts, and the validation of their options.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ENTRY_OVERHEAD_BYTES,
  entryBytes,
  MemoryStore,
} from "../services/cache/memory_store.ts";
import { etagOf } from "../services/http/etag.ts";
import type { Loaded } from "../services/cache/lookup.ts";
import { ResponseCache } from "../services/cache/policy.ts";
import { cacheControl, cacheStatus } from "../services/cache/headers.ts";

const encoder = new TextEncoder();

function loaded(text: string, status = 200): Loaded {
  return {
    status,
    body: encoder.encode(text),
    contentType: "application/json; charset=utf-8",
  };
}

/** A controllable clock. */
function clock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

Deno.test("ResponseCache serves fresh entries without loading again", async () => {
  const time = clock();
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
    ttlSeconds: 10,
    now: time.now,
  });
  let loads = 0;
  const load = () => Promise.resolve(loaded(`{"n":${++loads}}`));
  const first = await cache.get("/posts/1", load);
  assert.equal(first.outcome, "miss");
  time.advance(4);
  const second = await cache.get("/posts/1", load);
  assert.equal(second.outcome, "hit");
  assert.equal(second.ageSeconds, 4);
  assert.equal(second.ttlSeconds, 6);
  assert.equal(loads, 1);
  assert.equal(second.entry.etag, await etagOf(encoder.encode('{"n":1}')));
});

Deno.test("ResponseCache collapses concurrent misses into one load", async () => {
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
  });
  let loads = 0;
  const gate = Promise.withResolvers<void>();
  const load = async () => {
    loads++;
    await gate.promise;
    return loaded("[]");
  };
  const results = Promise.all(
    Array.from({ length: 100 }, () => cache.get("/posts", load)),
  );
  gate.resolve();
  const outcomes = (await results).map((r) => r.outcome);
  assert.equal(loads, 1);
  assert.equal(outcomes.filter((o) => o === "miss").length, 1);
  assert.equal(outcomes.filter((o) => o === "collapsed").length, 99);
});

Deno.test("ResponseCache serves stale while revalidating in the background", async () => {
  const time = clock();
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
    ttlSeconds: 10,
    staleWhileRevalidateSeconds: 30,
    now: time.now,
  });
  let version = 0;
  const load = () => Promise.resolve(loaded(`{"v":${++version}}`));
  await cache.get("k", load);
  time.advance(15);
  const stale = await cache.get("k", load);
  assert.equal(stale.outcome, "stale");
  assert.equal(new TextDecoder().decode(stale.entry.body), '{"v":1}');
  assert.equal(stale.ttlSeconds, -5);
  await cache.settled();
  const fresh = await cache.get("k", load);
  assert.equal(fresh.outcome, "hit");
  assert.equal(new TextDecoder().decode(fresh.entry.body), '{"v":2}');
  assert.equal(version, 2);
});

Deno.test("ResponseCache serves stale when the upstream fails", async () => {
  const time = clock();
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
    ttlSeconds: 10,
    staleWhileRevalidateSeconds: 0,
    staleIfErrorSeconds: 100,
    now: time.now,
  });
  await cache.get("k", () => Promise.resolve(loaded('{"ok":true}')));
  time.advance(50);
  const failure = new Error("upstream down");
  const result = await cache.get("k", () => Promise.reject(failure));
  assert.equal(result.outcome, "stale-if-error");
  assert.equal(result.error, failure);
  time.advance(100);
  await assert.rejects(
    () => cache.get("k", () => Promise.reject(failure)),
    failure,
  );
});

Deno.test("ResponseCache does not cache failures and lets the next caller retry", async () => {
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
  });
  await assert.rejects(() =>
    cache.get("k", () => Promise.reject(new Error("boom")))
  );
  const result = await cache.get("k", () => Promise.resolve(loaded("{}")));
  assert.equal(result.outcome, "miss");
});

Deno.test("MemoryStore stays within its byte bound and counts evictions", async () => {
  const store = new MemoryStore({ maxBytes: 10_000 });
  const cache = new ResponseCache({ store });
  for (let i = 0; i < 50; i++) {
    await cache.get(`/k/${i}`, () => Promise.resolve(loaded("x".repeat(1000))));
  }
  const stats = store.stats();
  assert.ok(stats.bytes <= 10_000, `bytes ${stats.bytes}`);
  assert.ok(stats.entries < 50);
  assert.equal(stats.evictions, 50 - stats.entries);
  // The most recent entry survives; the oldest is gone.
  assert.ok(await store.get("/k/49"));
  assert.equal(await store.get("/k/0"), undefined);
});

Deno.test("ResponseCache and MemoryStore validate their options", () => {
  assert.throws(() => new MemoryStore({ maxBytes: 0 }), RangeError);
  assert.throws(
    () =>
      new ResponseCache({
        store: new MemoryStore({ maxBytes: 1 }),
        ttlSeconds: -1,
      }),
    RangeError,
  );
});

Deno.test("MemoryStore keeps exact-size bodies and counts what it holds", async () => {
  const store = new MemoryStore({ maxBytes: 1 << 20 });
  // What a network read hands over: 292 bytes viewing a 64 KiB buffer.
  const view = new Uint8Array(new ArrayBuffer(64 * 1024), 1000, 292).fill(42);
  await store.set("/posts/1", {
    status: 200,
    body: view,
    contentType: "application/json",
    etag: '"x"',
    storedAt: 0,
  }, 60_000);
  const stored = await store.get("/posts/1");
  assert.equal(stored?.body.byteLength, 292);
  assert.equal(stored?.body.buffer.byteLength, 292);
  assert.equal(stored?.body.byteOffset, 0);
  assert.deepEqual(stored?.body, view);
  assert.equal(
    store.stats().bytes,
    292 + "/posts/1".length + "application/json".length + '"x"'.length +
      ENTRY_OVERHEAD_BYTES,
  );
});

Deno.test("MemoryStore counts an entry's strings and shares empty bodies and content types", async () => {
  const store = new MemoryStore({ maxBytes: 1 << 20 });
  const entry = (i: number) => ({
    status: 404,
    body: new Uint8Array(0),
    contentType: ["application/json", "charset=utf-8"].join("; "),
    etag: `"e${i}"`,
    storedAt: 0,
    validators: { etag: `W/"v${i}"`, lastModified: "Wed, 02 Dec 2026" },
  });
  await store.set("/posts/0", entry(0), 60_000);
  await store.set("/posts/1", entry(1), 60_000);
  const [a, b] = [store.peek("/posts/0")!, store.peek("/posts/1")!];
  assert.equal(a.body, b.body, "one empty body");
  assert.equal(a.contentType, "application/json; charset=utf-8");
  assert.equal(
    entryBytes("/posts/0", a),
    "/posts/0".length + "application/json; charset=utf-8".length +
      '"e0"'.length + 'W/"v0"'.length + "Wed, 02 Dec 2026".length +
      ENTRY_OVERHEAD_BYTES,
  );
  assert.equal(
    store.stats().bytes,
    entryBytes("/posts/0", a) + entryBytes("/posts/1", b),
  );
});

Deno.test("ResponseCache.hit answers a fresh memory entry at once, and nothing else", async () => {
  const time = clock();
  const outcomes: string[] = [];
  const store = new MemoryStore({ maxBytes: 1 << 20 });
  const cache = new ResponseCache({
    store,
    ttlSeconds: 10,
    now: time.now,
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  assert.equal(cache.hit("/posts/1"), undefined, "absent");
  await cache.get("/posts/1", () => Promise.resolve(loaded('{"id":1}')));
  time.advance(4);
  const hit = cache.hit("/posts/1");
  assert.ok(hit, "fresh entry held in memory");
  assert.equal(hit.outcome, "hit");
  assert.equal(hit.ageSeconds, 4);
  assert.equal(hit.ttlSeconds, 6);
  assert.deepEqual(outcomes, ["miss", "hit"], "counted like any hit");
  time.advance(6);
  assert.equal(cache.hit("/posts/1"), undefined, "stale: get decides");
  // A store that cannot tell at once (no peek) always defers to get.
  const remote = new ResponseCache({
    store: {
      get: (key) => store.get(key),
      set: (key, entry, ms) => store.set(key, entry, ms),
      delete: (key) => store.delete(key),
      stats: () => store.stats(),
      renew: (key, entry, ms) => store.renew(key, entry, ms),
      drop: (match) => store.drop(match),
    },
    ttlSeconds: 3600,
    now: time.now,
  });
  assert.equal(remote.hit("/posts/1"), undefined);
});

Deno.test("ResponseCache.hit reads the clock once, for the freshness and the Age alike", async () => {
  const time = clock();
  let reads = 0;
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
    ttlSeconds: 10,
    now: () => {
      reads++;
      // Each read half a second later: two reads would tell apart.
      time.advance(0.5);
      return time.now();
    },
  });
  await cache.get("/posts/1", () => Promise.resolve(loaded('{"id":1}')));
  time.advance(3);
  reads = 0;
  const hit = cache.hit("/posts/1");
  assert.ok(hit);
  assert.equal(reads, 1, "one clock read per memory hit");
  // Stored at 0.5 s (its load's first read), read at 4.5 s: 4 s old (a
  // second read, at 5 s, would have made it 4.5 s: Age 5).
  assert.equal(hit.ageSeconds, 4);
  assert.equal(hit.ttlSeconds, 6);
  reads = 0;
  const got = await cache.get("/posts/1", () => Promise.reject(new Error()));
  assert.equal(got.outcome, "hit");
  assert.equal(reads, 1, "and one per hit through get");
});

Deno.test("MemoryStore keeps its own retention: gone on get once past it, not listed as dropped", async () => {
  const store = new MemoryStore({ maxBytes: 1 << 20 });
  const entry = {
    status: 200,
    body: encoder.encode('{"id":1}'),
    contentType: "application/json",
    etag: '"e"',
    storedAt: Date.now(),
  };
  await store.set("/posts/1", entry, 1);
  await store.set("/posts/2", entry, 60_000);
  await store.renew("/posts/3", entry, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  // peek leaves freshness to its caller (the policy reads storedAt).
  assert.equal(store.peek("/posts/1")?.etag, '"e"');
  assert.deepEqual(
    (await store.drop({ prefixes: ["/posts"] })).keys,
    ["/posts/2"],
    "entries past their retention were gone already",
  );
  await store.set("/posts/1", entry, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(await store.get("/posts/1"), undefined, "past its retention");
  assert.equal(store.peek("/posts/1"), undefined, "and dropped by that get");
  assert.equal(store.stats().entries, 1, "/posts/3 goes when touched");
  assert.equal(await store.get("/posts/3"), undefined);
  assert.equal(store.stats().entries, 0);
  await store.set("/posts/1", entry, 60_000);
  assert.equal((await store.get("/posts/1"))?.etag, '"e"', "kept within it");
});

Deno.test("a hit's Cache-Control and Cache-Status follow their numbers (made once while they stay)", async () => {
  const time = clock();
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
    ttlSeconds: 10,
    now: time.now,
  });
  await cache.get("/posts/1", () => Promise.resolve(loaded('{"id":1}')));
  const seen: string[] = [];
  for (const step of [0.5, 0, 1, 1, 0.2]) {
    time.advance(step);
    const hit = cache.hit("/posts/1")!;
    seen.push(`${cacheControl(hit.lifetimeSeconds)} | ${cacheStatus(hit)}`);
  }
  assert.deepEqual(seen, [
    "public, max-age=10 | async-api; hit; ttl=9",
    "public, max-age=10 | async-api; hit; ttl=9",
    "public, max-age=10 | async-api; hit; ttl=8",
    "public, max-age=10 | async-api; hit; ttl=7",
    "public, max-age=10 | async-api; hit; ttl=7",
  ]);
  assert.equal(cacheControl(-1), "public, max-age=0", "never negative");
  assert.equal(cacheControl(3600), "public, max-age=3600");
});
