/**
 * An upstream answering JSON nested far deeper than any JSONPlaceholder
 * answer (a user 100k objects deep, a list whose item holds 100k nested
 * arrays). Found by pointing the service at a misbehaving upstream in a
 * fault sweep: `/users/7` was passed on, cached and kept by stale-if-error
 * for a day, and every `/users/7/summary` was a 500 ("Maximum call stack
 * size exceeded" from the summary's `JSON.stringify`). Now such an answer
 * is a 502 problem+json like any other bad upstream answer: not stored,
 * the summary 502 (its user) or the part `null` with its error, the last
 * good copy served on stale-if-error; answers as deep as a write may make
 * them still pass.
 *
 * @module
 */

import assert from "node:assert/strict";
import { json, testApp, testAppNoRetries } from "./fixtures/app.ts";
import { staleAfterFault } from "./fixtures/stale_if_error.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const LEVELS = 100_000;
const deepObject = '{"a":'.repeat(LEVELS) + "1" + "}".repeat(LEVELS);
const deepInList = '[{"id":1,"a":' + "[".repeat(LEVELS) + "]".repeat(LEVELS) +
  "}]";

/** An object `levels` deep, as a json-server keeping writes may hold. */
function nested(levels: number): string {
  return '{"a":'.repeat(levels - 1) + '{"id":1}' + "}".repeat(levels - 1);
}

Deno.test("an upstream answer nested 100k deep: 502 problem+json, not stored, the summary not a 500", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testAppNoRetries(upstream.url);
  upstream.setFault("/users/7", { body: deepObject });
  upstream.setFault("/posts?userId=1", { body: deepInList });
  for (const path of ["/users/7", "/posts?userId=1"]) {
    for (const round of [1, 2]) {
      const res = await t.get(path);
      assert.equal(res.status, 502, `${path}, round ${round}`);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      const problem = await json(res) as Record<string, unknown>;
      assert.match(String(problem.detail), /nested 10000[02] levels deep/);
      assert.equal(upstream.hits(path), round, `${path} not stored`);
    }
  }
  const summary = await t.get("/users/7/summary");
  assert.equal(summary.status, 502);
  await summary.body?.cancel();

  upstream.setFault("/users/1/todos", { body: deepInList });
  const partial = await t.get("/users/1/summary");
  assert.equal(partial.status, 200);
  const body = await json(partial) as Record<string, unknown>;
  assert.equal(body.todos, null);
  const [error] = body.errors as Record<string, unknown>[];
  assert.equal(error?.part, "todos");
  assert.match(String(error?.detail), /levels deep/);
});

Deno.test("an upstream answer as deep as stored writes make it passes", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  // A 64-deep body (the most a write takes) in a list: 65 levels.
  upstream.setFault("/posts?userId=2", { body: `[${nested(64)}]` });
  const res = await t.get("/posts?userId=2");
  assert.equal(res.status, 200);
  const [item] = await json(res) as Record<string, unknown>[];
  assert.equal(typeof item?.a, "object");
});

Deno.test("an upstream answer nested 100k deep: stale-if-error serves the last good copy", async () => {
  await using scene = await staleAfterFault({ body: deepObject });
  assert.equal(scene.stale.status, 200);
  // Compared as a flag: a failure's diff would print 600 KB of braces.
  assert.ok(await scene.stale.text() === scene.original, "the last good copy");
  assert.match(
    scene.stale.headers.get("cache-status") ?? "",
    /fwd=stale; ttl=-\d+; detail="stale-if-error"/,
  );
});
