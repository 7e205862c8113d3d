/**
 * An upstream answering a write with what `/openapi.json` does not
 * promise: a 2xx whose body is not JSON (an HTML page, garbage, nothing)
 * or not a JSON object (an array, `null`, a string), a 5xx (an HTML page
 * with a stack), a 4xx whose body is not JSON.
 * Each was passed on as it came (a 201 holding `[1,2]`, a 500 holding the
 * upstream's stack), and a generated client failed on it or showed it.
 * Now a 2xx or 5xx of that kind is a 502 problem+json and a 4xx keeps its
 * status as problem+json; a 2xx still drops what it made stale, since the
 * upstream said it wrote. The upstream is the fixture (`Deno.serve` on
 * port 0), which keeps the write and then sends the faulty answer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { json, type TestApp, testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { read, send } from "./fixtures/write_requests.ts";

const PROBLEM = "application/problem+json";
const HTML = "text/html; charset=utf-8";
const STACK = "<html><body><pre>TypeError: Cannot read properties of " +
  "undefined<br> &nbsp;at /app/node_modules/json-server/lib/server/" +
  "router/plural.js:262:20</pre></body></html>";

/** Method, path, the upstream's body and content type, and the detail. */
const BAD_SUCCESSES = [
  ["POST", "/posts", "[1,2]", undefined, /unexpected shape/],
  ["POST", "/posts/1/comments", STACK, HTML, /text\/html.*, not JSON/],
  ["PUT", "/posts/1", "", undefined, /malformed JSON/],
  ["PATCH", "/posts/2", "{oops", undefined, /malformed JSON/],
  ["PUT", "/users/1", '"x"', undefined, /unexpected shape/],
  ["PATCH", "/todos/1", "7", undefined, /unexpected shape/],
  ["DELETE", "/posts/3", "[]", undefined, /unexpected shape/],
  ["DELETE", "/albums/1", "null", undefined, /unexpected shape/],
] as const;

async function problemOf(res: Response): Promise<Record<string, unknown>> {
  assert.equal(res.headers.get("content-type"), PROBLEM);
  const text = await res.text();
  assert.doesNotMatch(text, /node_modules|<html>/);
  return JSON.parse(text);
}

async function app(upstreamUrl: string): Promise<TestApp> {
  return await testApp([
    "--upstream-url",
    upstreamUrl,
    "--upstream-retries",
    "2",
  ]);
}

Deno.test("a write answered 2xx with a body /openapi.json does not promise: 502 problem+json, sent once", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  for (const [method, path, body, contentType, detail] of BAD_SUCCESSES) {
    upstream.setFault(path, {
      // The status the route's OpenAPI answer has (the fixture keeps no
      // nested create: it would be 404).
      status: method === "POST" ? 201 : 200,
      body,
      ...(contentType ? { contentType } : {}),
      times: 1,
    });
    const before = upstream.hits(path);
    const res = await send(
      t,
      method,
      path,
      method === "DELETE" ? undefined : {
        title: "t",
      },
    );
    const what = `${method} ${path} answered ${JSON.stringify(body)}`;
    assert.equal(res.status, 502, what);
    const problem = await problemOf(res);
    assert.match(String(problem.detail), detail, what);
    assert.equal(problem.status, 502);
    assert.equal(upstream.hits(path), before + 1, `${what}: sent once`);
  }
  // What the document promises still passes (the field types are held in
  // write_answer_types_test.ts: a number for a title is a 400 now).
  const created = await send(t, "POST", "/posts", { title: "five" });
  assert.equal(created.status, 201);
  assert.equal((await json(created) as { title: string }).title, "five");
  const removed = await send(t, "DELETE", "/posts/4");
  assert.equal(removed.status, 200);
  assert.deepEqual(await json(removed), {});
});

Deno.test("a write answered 2xx with a bad body still drops the read it made stale", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  assert.equal((await read(t, "/posts/1")).body.title.length > 0, true);
  assert.match((await read(t, "/posts/1")).cache, /; hit/);
  upstream.setFault("/posts/1", {
    body: "<oops>",
    contentType: HTML,
    times: 1,
  });
  const res = await send(t, "PUT", "/posts/1", { title: "kept", userId: 1 });
  assert.equal(res.status, 502);
  await res.body?.cancel();
  // The fixture kept the write: the next read asks it again and sees it.
  const after = await read(t, "/posts/1");
  assert.doesNotMatch(after.cache, /; hit/);
  assert.equal(after.body.title, "kept");
});

Deno.test("a write answered 5xx: 502 problem+json with the upstream's status, its page not passed on, not repeated", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  upstream.setFault("/posts", { status: 500, body: STACK, contentType: HTML });
  const failed = await send(t, "POST", "/posts", { title: "t" });
  assert.equal(failed.status, 502);
  const problem = await problemOf(failed);
  assert.equal(problem.upstreamStatus, 500);
  assert.match(String(problem.detail), /upstream answered 500/);
  upstream.setFault("/posts/1", {
    status: 503,
    headers: { "retry-after": "7" },
  });
  const busy = await send(t, "PUT", "/posts/1", { title: "t" });
  assert.equal(busy.status, 502);
  assert.equal(busy.headers.get("retry-after"), "7");
  assert.equal((await problemOf(busy)).upstreamStatus, 503);
  // The upstream received both: neither is sent again.
  assert.equal(upstream.hits("/posts"), 1);
  assert.equal(upstream.hits("/posts/1"), 1);
});

Deno.test("a write answered 4xx with a body that is not JSON: the same status as problem+json", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  upstream.setFault("/posts/1", {
    status: 404,
    body: "<html><body>Cannot PUT /posts/1</body></html>",
    contentType: HTML,
  });
  const res = await send(t, "PUT", "/posts/1", { title: "t" });
  assert.equal(res.status, 404);
  const problem = await problemOf(res);
  assert.equal(problem.upstreamStatus, 404);
  assert.match(String(problem.detail), /not JSON/);
  // A JSON 4xx is the upstream's own answer, passed on.
  upstream.setFault("/posts/1", { status: 409, body: '{"error":"taken"}' });
  const conflict = await send(t, "PUT", "/posts/1", { title: "t" });
  assert.equal(conflict.status, 409);
  assert.deepEqual(await json(conflict), { error: "taken" });
});
