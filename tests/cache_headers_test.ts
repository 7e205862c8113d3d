/**
 * Issue 8 item 6: the cache headers read the way a downstream cache reads
 * them. `max-age` is the freshness lifetime and `Age` the time spent in
 * this cache, so a browser or CDN holding an answer lets it expire when the
 * entry here expires, not after half of its TTL, and never after it (`Age`
 * rounded up); a stale answer says `max-age=0`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { heldEntry, untilAged } from "./fixtures/entry_age.ts";
import { freshness, parseCacheControl } from "./fixtures/freshness.ts";
import { serveCaching } from "./fixtures/caching_service.ts";

const TTL_SECONDS = 3;
// Headers carry whole seconds; what a request takes on a busy machine.
const SLACK_MS = 250;

interface Received {
  res: Response;
  at: number;
}

async function serve() {
  const caching = await serveCaching({
    ttlSeconds: TTL_SECONDS,
    swrSeconds: 60,
  });
  const { upstream, served } = caching;
  return {
    upstream,
    app: served.app,
    async get(path: string, init?: RequestInit): Promise<Received> {
      const res = await fetch(served.url + path, init);
      await res.body?.cancel();
      return { res, at: Date.now() };
    },
    [Symbol.asyncDispose]: () => caching[Symbol.asyncDispose](),
  };
}

/**
 * Asserts a downstream cache that received `got` expires it when the entry
 * stored between `storedFrom` and `storedBy` expires here: never later, and
 * earlier by at most the second `Age` is rounded up by.
 */
function assertExpiresWithEntry(
  got: Received,
  storedFrom: number,
  storedBy: number,
  label: string,
): void {
  const judged = freshness(got.res.headers);
  assert.equal(judged.lifetimeSeconds, TTL_SECONDS, `${label}: max-age`);
  const downstreamExpiry = got.at + judged.remainingSeconds * 1000;
  const entryExpiry = storedFrom + TTL_SECONDS * 1000;
  assert.ok(
    downstreamExpiry >= entryExpiry - 1000 - SLACK_MS,
    `${label}: a downstream cache expires it ${
      entryExpiry - downstreamExpiry
    } ms early (${got.res.headers.get("cache-control")}, Age ${
      got.res.headers.get("age")
    })`,
  );
  assert.ok(
    downstreamExpiry <= storedBy + TTL_SECONDS * 1000 + SLACK_MS,
    `${label}: a downstream cache keeps it ${
      downstreamExpiry - (storedBy + TTL_SECONDS * 1000)
    } ms past the entry here`,
  );
}

Deno.test("freshness() reads Cache-Control and Age as RFC 9111 does", () => {
  const h = (cc: string, age?: string) =>
    new Headers(
      age === undefined ? { "cache-control": cc } : {
        "cache-control": cc,
        age,
      },
    );
  assert.deepEqual(freshness(h("public, max-age=60", "10")), {
    fresh: true,
    lifetimeSeconds: 60,
    currentAgeSeconds: 10,
    remainingSeconds: 50,
  });
  assert.equal(freshness(h("max-age=60", "60")).fresh, false);
  assert.equal(
    freshness(h("max-age=60", "10"), { residentSeconds: 50 }).fresh,
    false,
  );
  assert.equal(freshness(h("max-age=60, no-store")).fresh, false);
  assert.equal(
    freshness(h("private, max-age=60"), { shared: true }).fresh,
    false,
  );
  assert.equal(
    freshness(h("max-age=1, s-maxage=60"), { shared: true }).lifetimeSeconds,
    60,
  );
  assert.equal(freshness(new Headers()).fresh, false);
  assert.throws(() => freshness(h("max-age=1", "-1")), TypeError);
  assert.equal(parseCacheControl('A="1", b').get("a"), "1");
});

Deno.test("a cached answer stays fresh downstream until the entry expires here", async () => {
  await using s = await serve();
  const storedFrom = Date.now();
  const miss = await s.get("/posts/1");
  const storedBy = miss.at;
  assert.equal(
    miss.res.headers.get("cache-status"),
    "async-api; fwd=miss; stored",
  );
  assert.equal(freshness(miss.res.headers).fresh, true);
  assertExpiresWithEntry(miss, storedFrom, storedBy, "miss");
  const etag = miss.res.headers.get("etag")!;
  const entry = heldEntry(s.app.cache, "/posts/1");

  // Half-way through a second of the entry's age (on the cache's clock,
  // not a sleep guessed past it): Age rounded down would let a downstream
  // copy outlive the entry by that half.
  await untilAged(entry, 1500);
  // The first answer, held downstream all this time, is still fresh.
  assert.equal(
    freshness(miss.res.headers, {
      residentSeconds: (Date.now() - miss.at) / 1000,
    }).fresh,
    true,
  );
  const hit = await s.get("/posts/1");
  assert.match(hit.res.headers.get("cache-status") ?? "", /; hit; /);
  assert.ok(Number(hit.res.headers.get("age")) >= 1, "Age counts the wait");
  assert.equal(freshness(hit.res.headers).fresh, true, "a hit is fresh");
  assertExpiresWithEntry(hit, storedFrom, storedBy, "hit");

  // A revalidation (304) refreshes a downstream copy's headers the same way.
  const revalidated = await s.get("/posts/1", {
    headers: { "if-none-match": etag },
  });
  assert.equal(revalidated.res.status, 304);
  assert.equal(freshness(revalidated.res.headers).fresh, true);
  assertExpiresWithEntry(revalidated, storedFrom, storedBy, "304");

  await untilAged(entry, TTL_SECONDS * 1000);
  const stale = await s.get("/posts/1");
  assert.match(
    stale.res.headers.get("cache-status") ?? "",
    /fwd=stale; .*stale-while-revalidate/,
  );
  const judged = freshness(stale.res.headers);
  assert.equal(judged.fresh, false, "a stale answer is stale downstream");
  // Even to a cache that reads max-age and not Age (nginx).
  assert.equal(judged.lifetimeSeconds, 0, "a stale answer says max-age=0");
  assert.ok(judged.currentAgeSeconds >= TTL_SECONDS, "Age is past the TTL");
  await s.app.cache.settled();
  assert.equal(s.upstream.hits("/posts/1"), 2);
});

Deno.test("the summary is fresh downstream as long as its oldest part", async () => {
  await using s = await serve();
  const storedFrom = Date.now();
  const user = await s.get("/users/1");
  const storedBy = user.at;
  await untilAged(heldEntry(s.app.cache, "/users/1"), 1200);
  // The user entry is now 1.2 s old, the other three parts are new.
  const summary = await s.get("/users/1/summary");
  assert.equal(summary.res.status, 200);
  assert.ok(Number(summary.res.headers.get("age")) >= 1, "oldest part's age");
  assert.equal(freshness(summary.res.headers).fresh, true);
  assertExpiresWithEntry(summary, storedFrom, storedBy, "summary");
});
