/**
 * What a write's answer holds, and what a write's body may hold, against
 * the schemas `/openapi.json` declares (`write_schemas.ts`, the one source
 * of the types, the check and the document). An upstream (the fixture,
 * `Deno.serve` on port 0) answering a 2xx whose fields are of other types
 * (`{"id":"abc"}`, `{"userId":null}`, no id) had it passed on, and the
 * validating client `@hey-api/openapi-ts` generates failed a 201 with a
 * ZodError, the write done; now it is a 502 problem+json, sent once. A
 * body of other types was sent on, and json-server echoes it (the id
 * too): now a 400, nothing sent. A redirect out of the upstream, one
 * with no `Location`, and a 204, 205 or 304 (an empty answer where the
 * written item is promised) were passed on; now each is a 502, and a
 * client that follows redirects does not carry the write to another host.
 *
 * @module
 */

import assert from "node:assert/strict";
import { json, type TestApp, testApp } from "./fixtures/app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { send } from "./fixtures/write_requests.ts";

const PROBLEM = "application/problem+json";

async function problemOf(res: Response): Promise<Record<string, unknown>> {
  assert.equal(res.headers.get("content-type"), PROBLEM);
  return JSON.parse(await res.text());
}

async function app(upstreamUrl: string): Promise<TestApp> {
  return await testApp(["--upstream-url", upstreamUrl]);
}

/** Method, path, the upstream's JSON answer, and the field the detail names. */
const BAD_FIELDS = [
  ["POST", "/posts", '{"title":"t","id":"abc"}', /\bid: .*received string/],
  ["PUT", "/posts/1", '{"id":1,"userId":null}', /userId: .*received null/],
  ["PATCH", "/todos/1", '{"id":1,"completed":"yes"}', /completed: /],
  ["POST", "/albums", '{"title":"t"}', /\bid: .*received undefined/],
  ["PUT", "/comments/1", '{"id":1,"email":"not mail"}', /email: /],
  ["PATCH", "/users/1", '{"id":1,"address":{"city":5}}', /address\.street/],
  ["POST", "/posts/1/comments", '{"id":501,"postId":"1"}', /postId: /],
  ["POST", "/photos", '{"id":0}', /\bid: /],
] as const;

Deno.test("a write answered 2xx with fields of other types than /openapi.json declares: 502 problem+json naming them, sent once", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  for (const [method, path, body, field] of BAD_FIELDS) {
    upstream.setFault(path, {
      status: method === "POST" ? 201 : 200,
      body,
      times: 1,
    });
    const before = upstream.hits(path);
    const res = await send(t, method, path, { title: "t" });
    const what = `${method} ${path} answered ${body}`;
    assert.equal(res.status, 502, what);
    const problem = await problemOf(res);
    assert.match(String(problem.detail), /other types than \/openapi.json/);
    assert.match(String(problem.detail), field, what);
    assert.equal(problem.upstreamStatus, method === "POST" ? 201 : 200);
    assert.equal(upstream.hits(path), before + 1, `${what}: sent once`);
  }
  // A delete's answer is any object; fields of the item's types pass.
  upstream.setFault("/posts/2", { body: '{"id":"abc"}', times: 1 });
  const removed = await send(t, "DELETE", "/posts/2");
  assert.equal(removed.status, 200);
  assert.deepEqual(await json(removed), { id: "abc" });
  upstream.setFault("/posts", {
    status: 201,
    body: '{"id":7,"title":"t","extra":[null]}',
    times: 1,
  });
  const created = await send(t, "POST", "/posts", { title: "t" });
  assert.equal(created.status, 201);
  assert.deepEqual(await json(created), { id: 7, title: "t", extra: [null] });
});

/** Path, a body of other types than its input schema, the field named. */
const BAD_BODIES = [
  ["/posts", { title: 5 }, /title: .*received number/],
  ["/posts", { id: "abc" }, /\bid: .*received string/],
  ["/posts", { userId: null }, /userId: .*received null/],
  ["/todos", { completed: "no" }, /completed: /],
  ["/comments", { email: "not mail" }, /email: /],
  ["/users", { address: { city: "x" } }, /address\.street/],
  ["/posts/1/comments", { postId: "1" }, /postId: /],
] as const;

Deno.test("a write body of other types than /openapi.json declares: 400 naming the fields, nothing sent upstream", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  for (const [path, body, field] of BAD_BODIES) {
    const res = await send(t, "POST", path, body);
    const what = `POST ${path} ${JSON.stringify(body)}`;
    assert.equal(res.status, 400, what);
    const problem = await problemOf(res);
    assert.match(String(problem.detail), /Input of \/openapi.json/, what);
    assert.match(String(problem.detail), field, what);
  }
  const patched = await send(t, "PATCH", "/posts/1", { userId: "2" });
  assert.equal(patched.status, 400);
  await patched.body?.cancel();
  assert.equal(upstream.hits(), 0, "nothing sent upstream");
  // Fields the document does not name are the upstream's to take.
  const kept = await send(t, "POST", "/posts", { title: "t", tags: [1] });
  assert.equal(kept.status, 201);
  assert.deepEqual((await json(kept) as { tags: number[] }).tags, [1]);
});

Deno.test("a write answered 204, 205 or 304: 502 problem+json, where /openapi.json promises the written item", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await app(upstream.url);
  for (
    const [method, path, status] of [
      ["DELETE", "/posts/1", 204],
      ["PUT", "/posts/2", 204],
      ["PATCH", "/posts/3", 205],
      ["POST", "/posts", 304],
    ] as const
  ) {
    upstream.setFault(path, { status, times: 1 });
    const res = await send(
      t,
      method,
      path,
      method === "DELETE" ? undefined : { title: "t" },
    );
    const what = `${method} ${path} answered ${status}`;
    assert.equal(res.status, 502, what);
    const problem = await problemOf(res);
    assert.equal(problem.upstreamStatus, status, what);
  }
});

/** A second host, which counts what reaches it. */
function otherHost() {
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      hits++;
      await req.body?.cancel();
      return Response.json({ id: 1, title: "elsewhere" }, { status: 201 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: () => hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("a write redirected out of the upstream, or with no Location: 502, and a client following redirects sends the other host nothing", async () => {
  await using upstream = startFixtureUpstream();
  await using other = otherHost();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  for (const status of [307, 308, 302]) {
    upstream.setFault("/posts", {
      status,
      times: 1,
      headers: { location: `${other.url}/posts` },
    });
    // Redirects followed, as fetch does by default (and openapi-fetch,
    // hey-api's client): a 307 and a 308 send the write there again.
    const res = await fetch(`${service.url}/posts`, {
      method: "POST",
      body: JSON.stringify({ title: "t" }),
      headers: { "content-type": "application/json" },
      redirect: "follow",
    });
    assert.equal(res.status, 502, `${status}`);
    assert.equal(res.headers.get("location"), null);
    const problem = await problemOf(res);
    assert.equal(problem.upstreamStatus, status);
    assert.match(String(problem.detail), /Location outside it/);
  }
  assert.equal(other.hits(), 0, "the other host got nothing");
  await using t = await app(upstream.url);
  upstream.setFault("/posts/1", { status: 301, times: 1 });
  const bare = await send(t, "PUT", "/posts/1", { title: "t" });
  assert.equal(bare.status, 502);
  assert.match(String((await problemOf(bare)).detail), /no Location/);
  // Into the upstream, it still passes on, made relative (a 303 to a read).
  upstream.setFault("/posts", {
    status: 303,
    times: 1,
    headers: { location: `${upstream.url}/posts/5` },
  });
  const seeOther = await send(t, "POST", "/posts", { title: "t" });
  assert.equal(seeOther.status, 303);
  assert.equal(seeOther.headers.get("location"), "/posts/5");
  await seeOther.body?.cancel();
});
