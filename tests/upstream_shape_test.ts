/**
 * An upstream answering JSON of the wrong shape for a route: an array for
 * an item (`/posts/1`), an object for a list (`/posts`), a list of
 * numbers, `null`. The routes' OpenAPI document promises an object for an
 * item and an array of objects for a list, and a generated client (a
 * validating SDK) fails on anything else, so such an answer is a bad
 * upstream answer: 502 problem+json, not cached (the next request asks
 * again), and stale-if-error serves the last good copy instead. It was
 * passed on and cached for the whole TTL.
 *
 * @module
 */

import assert from "node:assert/strict";
import { json, testAppNoRetries } from "./fixtures/app.ts";
import { staleAfterFault } from "./fixtures/stale_if_error.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const WRONG = [
  ["/posts/1", "[1,2]"],
  ["/posts/2", "null"],
  ["/posts/3", '"a post"'],
  ["/posts", '{"id":1}'],
  ["/comments", "[1,2]"],
  ["/albums", "[[]]"],
  ["/posts/1/comments", "{}"],
  ["/users?_limit=2", "[null]"],
] as const;

Deno.test("an upstream answering the wrong JSON shape for a route: 502 problem+json, not cached", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testAppNoRetries(upstream.url);
  for (const [path, body] of WRONG) upstream.setFault(path, { body });
  for (const [path, body] of WRONG) {
    for (const round of [1, 2]) {
      const res = await t.get(path);
      assert.equal(res.status, 502, `${path} answering ${body}`);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      const problem = await json(res) as Record<string, unknown>;
      assert.match(String(problem.detail), /unexpected shape/);
      // Not cached: each request asked the upstream.
      assert.equal(upstream.hits(path), round, `${path}, round ${round}`);
    }
  }
  // The right shapes pass, empty lists too.
  upstream.clearFaults();
  upstream.setFault("/todos?userId=99", { body: "[]" });
  for (const path of ["/posts/1", "/posts", "/posts/1/comments"]) {
    const res = await t.get(path);
    assert.equal(res.status, 200, path);
    await res.body?.cancel();
  }
  assert.deepEqual(await json(await t.get("/todos?userId=99")), []);
});

Deno.test("an upstream answering the wrong shape: stale-if-error serves the last good copy", async () => {
  await using scene = await staleAfterFault({ body: "[4]" });
  assert.equal(scene.stale.status, 200);
  assert.equal(await scene.stale.text(), scene.original);
  assert.match(
    scene.stale.headers.get("cache-status") ?? "",
    /fwd=stale; ttl=-\d+; detail="stale-if-error"/,
  );
  assert.equal(scene.hits, 2);
});

Deno.test("a summary whose user or part has the wrong shape: the user is 502, a part null with its error", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testAppNoRetries(upstream.url);
  upstream.setFault("/users/2", { body: "[]" });
  const failed = await t.get("/users/2/summary");
  assert.equal(failed.status, 502);
  await failed.body?.cancel();
  upstream.setFault("/users/1/todos", { body: '{"id":1}' });
  const res = await t.get("/users/1/summary");
  assert.equal(res.status, 200);
  const body = await json(res) as Record<string, unknown>;
  assert.equal(body.todos, null);
  assert.ok(Array.isArray(body.posts));
  const [error] = body.errors as Record<string, unknown>[];
  assert.equal(error?.part, "todos");
  assert.equal(error?.status, 502);
  assert.match(String(error?.detail), /unexpected shape/);
});
