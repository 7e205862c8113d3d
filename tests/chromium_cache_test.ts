/**
 * Chromium's HTTP cache as a downstream of the service: a page's `fetch`
 * is answered from it while the service's headers say the copy is fresh
 * (RFC 9111 4.2.3: `max-age` less `Age` less the time it has held it), so
 * those headers decide how long a browser shows a copy. Which fetches
 * reached the service tells its `X-Request-Id`: a copy from the browser's
 * cache repeats the one it was stored with.
 *
 * Needs `-A` (playwright-core) and chromium (tests/fixtures/chromium.ts).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { chromiumPerFile } from "./fixtures/chromium.ts";
import { serveCaching } from "./fixtures/caching_service.ts";

// Long enough that a page's fetch meant for 1.5 s into the entry's life
// still finds it fresh on a loaded machine: a hit until 3 s (the last
// second is served stale: tests/hit_fresh_downstream_test.ts), 1.5 s of
// slack, not 0.5.
const TTL_SECONDS = 4;

interface Fetched {
  status: number;
  requestId: string | null;
  age: string | null;
  cacheStatus: string | null;
}

/** A `fetch` by the page, default cache mode, and what came back. */
function pageFetch(page: Page, path: string): Promise<Fetched> {
  return page.evaluate(async (path) => {
    const res = await fetch(path);
    await res.arrayBuffer();
    return {
      status: res.status,
      requestId: res.headers.get("x-request-id"),
      age: res.headers.get("age"),
      cacheStatus: res.headers.get("cache-status"),
    };
  }, path);
}

/** One chromium for this file's tests, each in a fresh context. */
const browser = chromiumPerFile();

/** The service on a fixture upstream, and a chromium page on its origin. */
async function stack() {
  const caching = await serveCaching({
    ttlSeconds: TTL_SECONDS,
    swrSeconds: 30,
  });
  const { served } = caching;
  // A fresh context: an HTTP cache of its own, empty.
  const context = await browser().newContext().catch(async (error) => {
    await caching[Symbol.asyncDispose]();
    throw error;
  });
  const page = await context.newPage();
  await page.goto(`${served.url}/healthz`);
  return {
    served,
    upstream: caching.upstream,
    page,
    async [Symbol.asyncDispose]() {
      await context.close();
      await caching[Symbol.asyncDispose]();
    },
  };
}

Deno.test("chromium lets a copy go when the entry here goes, not later", async () => {
  await using s = await stack();
  await (await fetch(`${s.served.url}/posts/1`)).body?.cancel();
  // The entry was stored before this; its life is counted from then on.
  // (Counted from before the fetch, a store slowed by load made the entry
  // outlive the time the test took for its end, and chromium rightly kept
  // a copy the service still held fresh.)
  const stored = Date.now();

  // Half-way through a second of the entry's life: Age rounded down would
  // give the browser that half second more than the entry has.
  await sleep(TTL_SECONDS * 1000 - 2500 - (Date.now() - stored));
  const held = await pageFetch(s.page, "/posts/1");
  assert.match(held.cacheStatus ?? "", /; hit; /);

  await sleep(stored + TTL_SECONDS * 1000 + 200 - Date.now());
  const after = await pageFetch(s.page, "/posts/1");
  assert.notEqual(
    after.requestId,
    held.requestId,
    `chromium served its copy (Age ${held.age}) ${
      Date.now() - stored - TTL_SECONDS * 1000
    } ms after the entry here expired`,
  );
  assert.equal(after.status, 200);
});

Deno.test("chromium keeps no answer the service says not to: /metrics, /healthz, /files, errors", async () => {
  await using s = await stack();
  for (const path of ["/metrics", "/healthz", "/files", "/nope"]) {
    const first = await pageFetch(s.page, path);
    const second = await pageFetch(s.page, path);
    assert.notEqual(second.requestId, first.requestId, `${path} was kept`);
  }
  // A stale answer is asked again, not kept.
  await (await fetch(`${s.served.url}/posts/2`)).body?.cancel();
  await sleep(TTL_SECONDS * 1000 + 100);
  const stale = await pageFetch(s.page, "/posts/2");
  assert.match(stale.cacheStatus ?? "", /stale-while-revalidate/);
  const next = await pageFetch(s.page, "/posts/2");
  assert.notEqual(next.requestId, stale.requestId, "a stale answer was kept");
});

Deno.test("chromium counts the Age the upstream (a CDN) reported", async () => {
  await using s = await stack();
  // The CDN's copy is a second short of the TTL: the answer may be kept
  // downstream for that second, not for a TTL more.
  s.upstream.setFault("/posts/3", {
    headers: { age: String(TTL_SECONDS - 1) },
  });
  const first = await pageFetch(s.page, "/posts/3");
  assert.equal(first.cacheStatus, "async-api; fwd=miss; stored");
  await sleep(1500);
  const again = await pageFetch(s.page, "/posts/3");
  assert.notEqual(
    again.requestId,
    first.requestId,
    `chromium kept an answer ${
      TTL_SECONDS - 1
    } s old at its arrival for 1.5 s (Age ${first.age})`,
  );
  assert.match(again.cacheStatus ?? "", /; hit; /);
});
