/**
 * Issue 13 item 2 against the fixture upstream (which keeps writes, so a
 * stale cache would show): each RFC 9111 4.4 rule drops what it must, and
 * only that: the item, its collections and nested lists, the Location and
 * Content-Location, and loads in flight.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { isHit, read, send } from "./fixtures/write_requests.ts";

Deno.test("a write drops the item, the collection with every query, and nothing unrelated", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const watched = [
    "/posts/1",
    "/posts",
    "/posts?userId=1",
    "/posts/1/comments",
  ];
  const unrelated = ["/posts/2", "/users/1", "/albums/1", "/comments"];
  for (const path of [...watched, ...unrelated]) await read(t, path);
  for (const path of [...watched, ...unrelated]) {
    assert.ok(isHit((await read(t, path)).cache), `${path} cached`);
  }
  const res = await send(t, "PATCH", "/posts/1", { title: "changed" });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const post = await read(t, "/posts/1");
  assert.ok(!isHit(post.cache));
  assert.equal(post.body.title, "changed");
  const list = await read(t, "/posts?userId=1");
  assert.ok(!isHit(list.cache));
  assert.equal(list.body[0].title, "changed");
  assert.ok(!isHit((await read(t, "/posts")).cache));
  assert.ok(!isHit((await read(t, "/posts/1/comments")).cache), "under it");
  for (const path of unrelated) {
    assert.ok(isHit((await read(t, path)).cache), `${path} kept`);
  }
  // A failed write drops nothing.
  const failed = await send(t, "PUT", "/posts/9999", { title: "x" });
  assert.equal(failed.status, 404);
  await failed.body?.cancel();
  assert.ok(isHit((await read(t, "/posts")).cache));
});

Deno.test("a write drops the nested lists and aggregates holding the resource", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const before = await read(t, "/users/1/summary");
  await read(t, "/posts/1/comments");
  await read(t, "/posts/3/comments");
  await read(t, "/posts?_embed=comments&_limit=2");
  await read(t, "/comments?_expand=post&_limit=2");
  // A comment: every post's comment list, and lists embedding comments.
  const comment = await send(t, "PATCH", "/comments/1", { name: "renamed" });
  assert.equal(comment.status, 200);
  await comment.body?.cancel();
  const comments = await read(t, "/posts/1/comments");
  assert.ok(!isHit(comments.cache));
  assert.equal(comments.body[0].name, "renamed");
  assert.ok(!isHit((await read(t, "/posts/3/comments")).cache));
  assert.ok(!isHit((await read(t, "/posts?_embed=comments&_limit=2")).cache));
  // A query variant of the collection: dropped too; read again.
  assert.ok(!isHit((await read(t, "/comments?_expand=post&_limit=2")).cache));
  await read(t, "/users/1/todos");
  // A post: /users/:id/posts, the summary built on it, lists expanding it.
  const post = await send(t, "PUT", "/posts/1", {
    userId: 1,
    title: "rewritten",
    body: "b",
  });
  assert.equal(post.status, 200);
  await post.body?.cancel();
  const summary = await read(t, "/users/1/summary");
  assert.notDeepEqual(summary.body.posts, before.body.posts);
  assert.equal(summary.body.posts[0].title, "rewritten");
  assert.ok(!isHit((await read(t, "/comments?_expand=post&_limit=2")).cache));
  // The user's other parts were kept.
  assert.ok(isHit((await read(t, "/users/1/todos")).cache));
});

Deno.test("a write drops the Location, the Content-Location and a created item's 404", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  assert.equal((await read(t, "/posts/101")).status, 404);
  assert.ok(isHit((await read(t, "/posts/101")).cache), "a 404 is cached");
  await read(t, "/todos/7");
  await read(t, "/albums/3?x=1");
  const created = await send(t, "POST", "/posts", { title: "t" });
  assert.equal(created.headers.get("location"), "/posts/101");
  await created.body?.cancel();
  const fresh = await read(t, "/posts/101");
  assert.equal(fresh.status, 200);
  assert.equal(fresh.body.title, "t");
  upstream.setFault("/users", {
    times: 1,
    headers: {
      location: `${upstream.url}/todos/7`,
      "content-location": "/albums/3",
    },
  });
  const user = await send(t, "POST", "/users", { name: "n" });
  assert.equal(user.status, 201);
  assert.equal(user.headers.get("location"), "/todos/7");
  await user.body?.cancel();
  assert.ok(!isHit((await read(t, "/todos/7")).cache));
  assert.ok(!isHit((await read(t, "/albums/3?x=1")).cache));
  // A Location elsewhere is passed on, and drops nothing here.
  await read(t, "/todos/8");
  upstream.setFault("/users", {
    times: 1,
    headers: { location: "http://elsewhere.example/todos/8" },
  });
  const other = await send(t, "POST", "/users", { name: "m" });
  assert.equal(
    other.headers.get("location"),
    "http://elsewhere.example/todos/8",
  );
  await other.body?.cancel();
  assert.ok(isHit((await read(t, "/todos/8")).cache));
});

Deno.test("a load in flight when a write lands is neither joined afterwards nor stored", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const old = await (await fetch(`${upstream.url}/posts/1`)).text();
  upstream.resetHits();
  // The read is answered with what was there before, late.
  upstream.setFault("/posts/1", { delayMs: 400, body: old, times: 1 });
  const early = read(t, "/posts/1");
  await upstream.waitForRequests(1, "/posts/1");
  const res = await send(t, "PATCH", "/posts/1", { title: "after" });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  // Asked after the write: a load of its own, not the old one.
  const late = await read(t, "/posts/1");
  assert.equal(late.body.title, "after");
  assert.notEqual((await early).body.title, "after", "the old load's answer");
  await t.app.cache.settled();
  const again = await read(t, "/posts/1");
  assert.equal(again.body.title, "after", "the old load was not stored");
});
