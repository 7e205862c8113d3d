/**
 * An upstream's `Age` counts in the `Age` the service sends (RFC 9111
 * 4.2.3: a cache's current age starts from the age the answer arrived
 * with). JSONPlaceholder's answers come through a CDN that says how long
 * it held them; sending only the time spent here told a downstream cache
 * the answer was younger than it is, so it kept it longer past its
 * origin. Freshness here still counts from the answer's arrival.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { MAX_DELTA_SECONDS, parseAge } from "../services/http/age.ts";
import { decodeEntry, encodeEntry } from "../services/cache/entry_codec.ts";
import { freshness } from "./fixtures/freshness.ts";
import { serveCaching } from "./fixtures/caching_service.ts";

const TTL_SECONDS = 3;

Deno.test("parseAge reads an Age as RFC 9111 5.1 says a cache reads it", () => {
  assert.equal(parseAge(null), undefined);
  assert.equal(parseAge("0"), 0);
  assert.equal(parseAge(" 120 "), 120);
  assert.equal(parseAge("7, 9"), 7, "a list counts by its first member");
  for (const invalid of ["", "-1", "1.5", "abc", "1e3", ", 4"]) {
    assert.equal(parseAge(invalid), undefined, JSON.stringify(invalid));
  }
  assert.equal(parseAge("99999999999999999999"), MAX_DELTA_SECONDS);
});

Deno.test("the upstream's age survives the Redis form of an entry", () => {
  const entry = {
    status: 200,
    body: new Uint8Array([123, 125]),
    contentType: "application/json",
    etag: '"x"',
    storedAt: 1_000,
    upstreamAgeMs: 42_010,
  };
  const decoded = decodeEntry(encodeEntry({ entry, retainUntil: 9_000 }));
  assert.equal(decoded?.entry.upstreamAgeMs, 42_010);
  const { upstreamAgeMs: _, ...origin } = entry;
  const plain = decodeEntry(encodeEntry({ entry: origin, retainUntil: 9_000 }));
  assert.equal(plain?.entry.upstreamAgeMs, undefined);
});

Deno.test("Age counts the upstream's Age; freshness here counts from arrival", async () => {
  await using caching = await serveCaching({
    ttlSeconds: TTL_SECONDS,
    swrSeconds: 60,
  });
  const { upstream, served } = caching;
  upstream.setValidators({ etag: true });
  upstream.setFault("/posts/1", { headers: { age: "2" } });
  const get = async (path: string) => {
    const res = await fetch(served.url + path);
    await res.body?.cancel();
    return res.headers;
  };

  const miss = await get("/posts/1");
  assert.equal(miss.get("cache-status"), "async-api; fwd=miss; stored");
  assert.ok(Number(miss.get("age")) >= 2, `miss Age ${miss.get("age")}`);
  assert.equal(miss.get("cache-control"), `public, max-age=${TTL_SECONDS}`);
  // A downstream cache keeps it until it is TTL old, counted from the CDN's
  // origin: at most a second more.
  assert.ok(freshness(miss).remainingSeconds <= 1);

  await sleep(1200);
  const hit = await get("/posts/1");
  // Here it is 1.2 s old and fresh; its Age is the CDN's 2 s plus those.
  assert.match(hit.get("cache-status") ?? "", /; hit; ttl=1$/);
  assert.ok(Number(hit.get("age")) >= 4, `hit Age ${hit.get("age")}`);
  assert.equal(freshness(hit).fresh, false, "too old for a downstream cache");

  // A 304 renewal dates the entry by the 304's Age.
  upstream.setFault("/posts/1", { headers: { age: "1" } });
  await sleep(TTL_SECONDS * 1000 - 1000);
  await get("/posts/1");
  await served.app.cache.settled();
  const renewed = await get("/posts/1");
  assert.match(renewed.get("cache-status") ?? "", /; hit; /);
  const age = Number(renewed.get("age"));
  assert.ok(age >= 1 && age <= 3, `renewed Age ${age}`);

  // An Age no cache can read is ignored: the answer counts as the origin's.
  upstream.setFault("/posts/2", { headers: { age: "-5" } });
  assert.equal((await get("/posts/2")).get("age"), "0");
  assert.equal(upstream.hits("/posts/1"), 2);
});
