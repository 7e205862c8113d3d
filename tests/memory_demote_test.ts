/**
 * `MemoryStore.demote`: every entry held is kept, marked unconfirmed, at
 * the same cost and in the same LRU order (the least recent still goes
 * first), and one set afterwards is confirmed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entryBytes, MemoryStore } from "../services/cache/memory_store.ts";
import type { CacheEntry } from "../services/cache/store.ts";

function entry(n: number): CacheEntry {
  return {
    status: 200,
    body: new TextEncoder().encode(`{"id":${n}}`),
    contentType: "application/json; charset=utf-8",
    etag: `"e${n}"`,
    storedAt: Date.now(),
  };
}

Deno.test("MemoryStore.demote keeps every entry, unconfirmed, at the same cost; one set afterwards is confirmed", async () => {
  const one = entryBytes("/posts/1", entry(1));
  // Room for three entries of this size.
  const store = new MemoryStore({ maxBytes: one * 3 + 10 });
  for (const n of [1, 2, 3]) await store.set(`/posts/${n}`, entry(n), 60_000);
  await store.get("/posts/1"); // now the most recent: 2, 3, 1
  const before = store.stats();
  await store.demote();
  assert.deepEqual(store.stats(), before);
  for (const n of [1, 2, 3]) {
    const held = await store.get(`/posts/${n}`);
    assert.equal(held?.unconfirmed, true, `/posts/${n}`);
    assert.equal(held?.etag, `"e${n}"`);
  }
  // The gets above touched 1, 2, 3 in turn: 1 is the least recent again.
  await store.set("/posts/4", entry(4), 60_000);
  assert.equal(await store.get("/posts/1"), undefined, "the oldest evicted");
  assert.equal((await store.get("/posts/4"))?.unconfirmed, undefined);
  assert.equal((await store.get("/posts/2"))?.unconfirmed, true);
});

Deno.test("MemoryStore.demote leaves the LRU order as it was", async () => {
  const one = entryBytes("/posts/1", entry(1));
  const store = new MemoryStore({ maxBytes: one * 3 + 10 });
  for (const n of [1, 2, 3]) await store.set(`/posts/${n}`, entry(n), 60_000);
  await store.get("/posts/1"); // order, least recent first: 2, 3, 1
  await store.demote();
  await store.set("/posts/4", entry(4), 60_000);
  assert.equal(store.peek("/posts/2"), undefined, "2 was the least recent");
  assert.ok(store.peek("/posts/3") && store.peek("/posts/1"));
});
