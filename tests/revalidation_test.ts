/**
 * Upstream revalidation and directives in the cache policy (with the
 * in-process store and a controllable clock): a stale entry is refreshed
 * with the upstream's validators; a 304 renews it without a new body, a
 * 200 replaces it; `no-store`/`private` answers are served but never
 * stored; `no-cache` answers are stored and revalidated.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MemoryStore } from "../services/cache/memory_store.ts";
import type {
  Loaded,
  Loader,
  RevalidationOutcome,
} from "../services/cache/lookup.ts";
import { ResponseCache } from "../services/cache/policy.ts";
import { cacheHeaders } from "../services/cache/headers.ts";
import {
  cacheDirectives,
  forbidsStoring,
} from "../services/http/cache_control.ts";
import type { OriginValidators } from "../services/http/origin_validators.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function clock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

/**
 * A scripted upstream: each load takes the next answer; `asked` keeps the
 * validators each load was given.
 */
function scripted(...answers: (Partial<Loaded> & { text?: string })[]) {
  const asked: (OriginValidators | undefined)[] = [];
  const load: Loader = (validators) => {
    asked.push(validators);
    const next = answers.shift();
    if (!next) return Promise.reject(new Error("no more answers"));
    const { text = "", ...rest } = next;
    return Promise.resolve({
      status: 200,
      body: encoder.encode(text),
      contentType: "application/json",
      ...rest,
    });
  };
  return { load, asked };
}

function cacheWith(time: ReturnType<typeof clock>, seen: string[] = []) {
  const store = new MemoryStore({ maxBytes: 1 << 20 });
  const cache = new ResponseCache({
    store,
    ttlSeconds: 10,
    staleWhileRevalidateSeconds: 0,
    now: time.now,
    onRevalidation: (outcome: RevalidationOutcome) => seen.push(outcome),
  });
  return { store, cache };
}

const V1 = {
  etag: 'W/"124-abc"',
  lastModified: "Tue, 01 Dec 2026 10:00:00 GMT",
};

Deno.test("a stale entry is refreshed with the upstream's validators; a 304 renews it in place", async () => {
  const time = clock();
  const seen: string[] = [];
  const { store, cache } = cacheWith(time, seen);
  const upstream = scripted(
    { text: '{"v":1}', validators: V1 },
    { status: 304 },
  );
  const first = await cache.get("/posts/1", upstream.load);
  const stored = await store.get("/posts/1");
  assert.deepEqual(stored?.validators, V1);
  time.advance(25);
  const renewed = await cache.get("/posts/1", upstream.load);
  // The conditional request carried both validators, the weak tag as is.
  assert.deepEqual(upstream.asked, [undefined, V1]);
  assert.equal(renewed.outcome, "revalidated");
  assert.equal(renewed.ageSeconds, 0);
  assert.equal(renewed.ttlSeconds, 10);
  assert.equal(renewed.entry.etag, first.entry.etag);
  // The very bytes stored before: no body read, no new copy.
  assert.equal(renewed.entry.body, stored!.body);
  assert.equal(decoder.decode(renewed.entry.body), '{"v":1}');
  assert.equal((await store.get("/posts/1"))?.body, stored!.body);
  assert.deepEqual(seen, ["renewed"]);
  assert.match(cacheHeaders(renewed)["cache-status"]!, /fwd-status=304/);
  // Fresh again for a whole TTL.
  time.advance(9);
  assert.equal((await cache.get("/posts/1", upstream.load)).outcome, "hit");
});

Deno.test("a 200 to the conditional request replaces the entry and its validators", async () => {
  const time = clock();
  const seen: string[] = [];
  const { store, cache } = cacheWith(time, seen);
  const V2 = { etag: 'W/"125-def"' };
  const upstream = scripted(
    { text: '{"v":1}', validators: V1 },
    { text: '{"v":2}', validators: V2 },
  );
  const first = await cache.get("/posts/1", upstream.load);
  time.advance(25);
  const replaced = await cache.get("/posts/1", upstream.load);
  assert.equal(replaced.outcome, "miss");
  assert.equal(decoder.decode(replaced.entry.body), '{"v":2}');
  assert.notEqual(replaced.entry.etag, first.entry.etag);
  assert.deepEqual((await store.get("/posts/1"))?.validators, V2);
  assert.deepEqual(seen, ["replaced"]);
});

Deno.test("a background (stale-while-revalidate) refresh is conditional too", async () => {
  const time = clock();
  const seen: string[] = [];
  const cache = new ResponseCache({
    store: new MemoryStore({ maxBytes: 1 << 20 }),
    ttlSeconds: 10,
    staleWhileRevalidateSeconds: 30,
    now: time.now,
    onRevalidation: (outcome) => seen.push(outcome),
  });
  const upstream = scripted({ text: "[]", validators: V1 }, { status: 304 });
  await cache.get("/posts", upstream.load);
  time.advance(15);
  assert.equal((await cache.get("/posts", upstream.load)).outcome, "stale");
  await cache.settled();
  const after = await cache.get("/posts", upstream.load);
  assert.equal(after.outcome, "hit");
  assert.equal(after.ageSeconds, 0);
  assert.deepEqual(upstream.asked, [undefined, V1]);
  assert.deepEqual(seen, ["renewed"]);
});

Deno.test("a failed revalidation is counted and stale-if-error still serves", async () => {
  const time = clock();
  const seen: string[] = [];
  const { cache } = cacheWith(time, seen);
  const upstream = scripted({ text: "{}", validators: { etag: '"x"' } });
  await cache.get("/k", upstream.load);
  time.advance(25);
  const result = await cache.get("/k", upstream.load);
  assert.equal(result.outcome, "stale-if-error");
  assert.deepEqual(seen, ["error"]);
});

Deno.test("no validators, no conditional request; a 304 to an unconditional load is an error", async () => {
  const time = clock();
  const seen: string[] = [];
  const { cache } = cacheWith(time, seen);
  const upstream = scripted({ text: "{}" }, { status: 304 });
  await cache.get("/k", upstream.load);
  time.advance(25);
  const result = await cache.get("/k", upstream.load);
  assert.deepEqual(upstream.asked, [undefined, undefined]);
  assert.equal(result.outcome, "stale-if-error");
  assert.ok(result.error instanceof TypeError);
  assert.deepEqual(seen, []);
});

for (const directive of ["no-store", "private", 'private="set-cookie"']) {
  Deno.test(`Cache-Control: ${directive} from the upstream: served, never stored`, async () => {
    const time = clock();
    const { store, cache } = cacheWith(time);
    let loads = 0;
    const gate = Promise.withResolvers<void>();
    const load: Loader = async () => {
      loads++;
      await gate.promise;
      return {
        status: 200,
        body: encoder.encode(`{"n":${loads}}`),
        contentType: "application/json",
        cacheControl: directive,
        validators: V1,
      };
    };
    // Waiters of the one load all get its answer...
    const results = Promise.all(
      Array.from({ length: 5 }, () => cache.get("/me", load)),
    );
    gate.resolve();
    const answers = await results;
    assert.equal(loads, 1);
    for (const result of answers) {
      assert.equal(decoder.decode(result.entry.body), '{"n":1}');
      assert.equal(result.unstoredCacheControl, directive);
      const headers = cacheHeaders(result);
      assert.equal(headers["cache-control"], directive);
      assert.match(headers["cache-status"]!, /; stored=\?0$/);
      assert.equal(headers.age, undefined);
    }
    // ...but it is not kept: the next lookup loads again.
    assert.equal(await store.get("/me"), undefined);
    const again = await cache.get("/me", load);
    assert.equal(loads, 2);
    assert.equal(again.outcome, "miss");
  });
}

Deno.test("a no-store answer to a refresh drops the stale entry", async () => {
  const time = clock();
  const { store, cache } = cacheWith(time);
  const upstream = scripted(
    { text: '{"v":1}', validators: V1 },
    { text: '{"v":2}', cacheControl: "no-store" },
  );
  await cache.get("/k", upstream.load);
  time.advance(25);
  const result = await cache.get("/k", upstream.load);
  assert.equal(decoder.decode(result.entry.body), '{"v":2}');
  assert.equal(await store.get("/k"), undefined);
});

Deno.test("Cache-Control: no-cache from the upstream: stored for the TTL, then revalidated", async () => {
  const time = clock();
  const seen: string[] = [];
  const { cache } = cacheWith(time, seen);
  const upstream = scripted(
    { text: "[]", cacheControl: "no-cache", validators: { etag: 'W/"2-x"' } },
    { status: 304, cacheControl: "no-cache" },
  );
  await cache.get("/posts", upstream.load);
  time.advance(5);
  const hit = await cache.get("/posts", upstream.load);
  assert.equal(hit.outcome, "hit");
  assert.equal(hit.unstoredCacheControl, undefined);
  assert.equal(cacheHeaders(hit)["cache-control"], "public, max-age=10");
  time.advance(6);
  const renewed = await cache.get("/posts", upstream.load);
  assert.equal(renewed.outcome, "revalidated");
  assert.deepEqual(upstream.asked, [undefined, { etag: 'W/"2-x"' }]);
  assert.deepEqual(seen, ["renewed"]);
});

Deno.test("forbidsStoring and cacheDirectives read the header's grammar", () => {
  assert.equal(forbidsStoring(undefined), false);
  assert.equal(forbidsStoring("no-cache"), false);
  assert.equal(forbidsStoring("public, max-age=60"), false);
  assert.equal(forbidsStoring("No-Store"), true);
  assert.equal(forbidsStoring("max-age=0, private"), true);
  // A quoted value with commas in it is one directive's value.
  const directives = cacheDirectives(
    'private="set-cookie, x-secret", max-age=5, no-cache',
  );
  assert.deepEqual([...directives], [
    ["private", "set-cookie, x-secret"],
    ["max-age", "5"],
    ["no-cache", ""],
  ]);
  assert.equal(forbidsStoring('no-cache="no-store"'), false);
});
