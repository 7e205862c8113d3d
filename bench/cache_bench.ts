/**
 * Micro-benchmarks of the response cache on its hot path, a fresh hit for
 * the body of `GET /posts/1`, each group against a baseline in this file:
 *
 * - `cache hit`: a bare `Map` get is the baseline; then `lru-cache` get (the
 *   store underneath), {@linkcode MemoryStore} get (adds a promise) and
 *   {@linkcode ResponseCache} get (adds the freshness policy and the result
 *   record). The ratios show what each layer costs.
 * - `cache hit vs response`: the smallest `Response` built and read is the
 *   baseline, i.e. the least work any server does per request; a
 *   `ResponseCache` hit should be a small fraction of it.
 *
 * Run with `deno bench bench/cache_bench.ts` (or through `deno task bench`,
 * which reports the ratios).
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import { type CacheEntry } from "../services/cache/store.ts";
import type { Loaded } from "../services/cache/lookup.ts";
import { ResponseCache } from "../services/cache/policy.ts";
import { MemoryStore } from "../services/cache/memory_store.ts";

const KEY = "/posts/1";
const BODY = new TextEncoder().encode(JSON.stringify({
  userId: 1,
  id: 1,
  title:
    "sunt aut facere repellat provident occaecati excepturi optio reprehenderit",
  body: "quia et suscipit\nsuscipit recusandae consequuntur expedita et cum\n" +
    "reprehenderit molestiae ut ut quas totam\nnostrum rerum est autem sunt " +
    "rem eveniet architecto",
}));
const CONTENT_TYPE = "application/json; charset=utf-8";
const ENTRY: CacheEntry = {
  status: 200,
  body: BODY,
  contentType: CONTENT_TYPE,
  etag: '"bench"',
  storedAt: Date.now(),
};
const load = (): Promise<Loaded> =>
  Promise.resolve({ status: 200, body: BODY, contentType: CONTENT_TYPE });

const map = new Map<string, CacheEntry>([[KEY, ENTRY]]);

const lru = new LRUCache<string, CacheEntry>({
  maxSize: 64 * 1024 * 1024,
  sizeCalculation: (entry, key) => entry.body.byteLength + key.length + 256,
  ttlResolution: 0,
});
lru.set(KEY, ENTRY, { ttl: 3_600_000 });

const store = new MemoryStore({ maxBytes: 64 * 1024 * 1024 });
await store.set(KEY, ENTRY, 3_600_000);

const cache = new ResponseCache({
  store: new MemoryStore({ maxBytes: 64 * 1024 * 1024 }),
  ttlSeconds: 3600,
});
if ((await cache.get(KEY, load)).outcome !== "miss") {
  throw new Error("the first lookup should miss");
}

async function responseCacheHit(): Promise<void> {
  const result = await cache.get(KEY, load);
  if (result.outcome !== "hit") throw new Error(`not a hit: ${result.outcome}`);
}

{
  const group = "cache hit";

  Deno.bench({
    name: "Map get",
    group,
    baseline: true,
    fn() {
      if (map.get(KEY) === undefined) throw new Error("missing");
    },
  });

  Deno.bench({
    name: "lru-cache get",
    group,
    fn() {
      if (lru.get(KEY) === undefined) throw new Error("missing");
    },
  });

  Deno.bench({
    name: "MemoryStore get",
    group,
    async fn() {
      if ((await store.get(KEY)) === undefined) throw new Error("missing");
    },
  });

  Deno.bench({ name: "ResponseCache get (hit)", group, fn: responseCacheHit });
}

{
  const group = "cache hit vs response";

  Deno.bench({
    name: "new Response(body) + arrayBuffer()",
    group,
    baseline: true,
    async fn() {
      const response = new Response(BODY, {
        headers: { "content-type": CONTENT_TYPE },
      });
      await response.arrayBuffer();
    },
  });

  Deno.bench({
    name: "ResponseCache get (hit)",
    group,
    fn: responseCacheHit,
  });
}
