/**
 * The invalidation rules as data (`services/cache/invalidation.ts`): what
 * each kind of rule names, and a drop over a large in-memory cache, which
 * gives the event loop turns while it walks the keys.
 *
 * @module
 */

import assert from "node:assert/strict";
import { writeRule } from "../routes/jsonplaceholder/invalidation.ts";
import { keysMatching, keyTest } from "../services/cache/invalidation.ts";
import { DROP_SLICE, MemoryStore } from "../services/cache/memory_store.ts";

const KEYS = [
  "/posts",
  "/posts?userId=1",
  "/posts/1",
  "/posts/1?_embed=comments",
  "/posts/1/comments",
  "/posts/10",
  "/postscript",
  "/posts/2/comments?_limit=2",
  "/users/1/posts",
  "/users/1/todos",
  "/comments?_expand=post",
  "/albums?_embed=photos%2Cposts",
  "/albums?title=_embed",
];

Deno.test("rules: paths with their variants, subtrees by segment, one-segment patterns, query parameters", () => {
  assert.deepEqual(keysMatching({ paths: ["/posts/1"] }, KEYS), [
    "/posts/1",
    "/posts/1?_embed=comments",
  ]);
  assert.deepEqual(keysMatching({ prefixes: ["/posts/1"] }, KEYS), [
    "/posts/1",
    "/posts/1?_embed=comments",
    "/posts/1/comments",
  ]);
  assert.equal(keysMatching({ prefixes: ["/"] }, KEYS).length, KEYS.length);
  assert.ok(!keyTest({ prefixes: ["/posts"] })("/postscript"));
  assert.deepEqual(keysMatching({ patterns: ["/posts/*/comments"] }, KEYS), [
    "/posts/1/comments",
    "/posts/2/comments?_limit=2",
  ]);
  // A comma-separated (and encoded) list names each of its values.
  assert.deepEqual(keysMatching({ params: [["_embed", "posts"]] }, KEYS), [
    "/albums?_embed=photos%2Cposts",
  ]);
  // A pattern is a path, not a regular expression.
  assert.deepEqual(keysMatching({ patterns: ["/posts/1.*"] }, KEYS), []);
});

Deno.test("a write to a post names its subtree, the posts, every user's posts and lists expanding it", () => {
  const rule = writeRule({ resource: "posts", id: "1", related: ["/x/9"] });
  assert.deepEqual(keysMatching(rule, KEYS), [
    "/posts",
    "/posts?userId=1",
    "/posts/1",
    "/posts/1?_embed=comments",
    "/posts/1/comments",
    "/users/1/posts",
    "/comments?_expand=post",
    "/albums?_embed=photos%2Cposts",
  ]);
  assert.ok(keyTest(rule)("/x/9?a=1"), "a path the answer named");
});

Deno.test("a drop over a large in-memory cache lets timers run between slices, and drops every match", async () => {
  const store = new MemoryStore({ maxBytes: 64 << 20 });
  const entry = {
    status: 200,
    body: new Uint8Array(16),
    contentType: "application/json",
    etag: '"e"',
    storedAt: Date.now(),
  };
  const count = DROP_SLICE * 3;
  for (let i = 0; i < count; i++) {
    await store.set(i % 2 ? `/posts/${i}` : `/todos/${i}`, entry, 60_000);
  }
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const started = performance.now();
  const { keys, scope } = await store.drop({ prefixes: ["/posts"] });
  const ms = performance.now() - started;
  clearInterval(timer);
  assert.equal(keys.length, count / 2);
  assert.equal(scope, "local");
  assert.equal(store.stats().entries, count / 2);
  assert.ok(ticks > 0, "the event loop turned during the walk");
  // deno-lint-ignore no-console
  console.log(`drop over ${count} keys: ${ms.toFixed(1)} ms`);
});
