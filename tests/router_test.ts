/**
 * The router (`routes/router.ts`): dispatch by method and pattern, 404
 * problem+json, 308 for a trailing slash (or the route itself, for one that
 * takes it), 405 with `Allow`, HEAD served by
 * the GET handler, and duplicate or malformed routes refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type RouteContext, Router } from "../routes/router.ts";
import { isReply, responseOf } from "../services/http/reply.ts";

/** The route context of `req`, as the pipeline makes it. */
function ctx(req: Request): RouteContext {
  const url = new URL(req.url);
  return {
    method: req.method,
    params: {},
    url,
    pathname: url.pathname,
    search: url.search,
    query: url.searchParams,
    href: req.url,
    publicOrigin: url.origin,
    headers: req.headers,
    requestId: "test",
    started: performance.now(),
    route: undefined,
    log: {},
  };
}

const router = new Router([
  { method: "GET", pattern: "/", handler: () => new Response("root") },
  {
    method: "GET",
    pattern: "/posts/:id",
    handler: (_req, c) => new Response(`post ${c.params.id}`),
  },
  { method: "DELETE", pattern: "/posts/:id", handler: () => new Response("x") },
  {
    method: "GET",
    pattern: "/posts/:id/comments",
    handler: (_req, c) => new Response(`comments ${c.params.id}`),
  },
]);

/** The router's answer as the client gets it (a Reply made a Response). */
async function handled(req: Request, c: RouteContext): Promise<Response> {
  const answer = await router.handle(req, c);
  return isReply(answer) ? responseOf(answer) : answer;
}

Deno.test("Router dispatches by method and pattern with params", async () => {
  const req = new Request("http://localhost/posts/7/comments");
  const c = ctx(req);
  const res = await handled(req, c);
  assert.equal(await res.text(), "comments 7");
  assert.equal(c.route, "/posts/:id/comments");
  const root = new Request("http://localhost/");
  assert.equal(await (await handled(root, ctx(root))).text(), "root");
});

Deno.test("Router answers 404 as problem+json for unknown paths", async () => {
  for (const path of ["/nope", "/posts", "/posts/1/2/3"]) {
    const req = new Request(`http://localhost${path}`);
    const res = await handled(req, ctx(req));
    assert.equal(res.status, 404, path);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const body = await res.json();
    assert.equal(body.status, 404);
  }
});

Deno.test("Router answers a route's path with trailing slashes with 308 to the path without them, query kept", async () => {
  for (
    const [path, method, location] of [
      ["/posts/7/", "GET", "/posts/7"],
      ["/posts/7//?a=1&b", "GET", "/posts/7?a=1&b"],
      ["/posts/7/", "DELETE", "/posts/7"],
      ["/posts/7/comments/", "HEAD", "/posts/7/comments"],
    ] as const
  ) {
    const req = new Request(`http://localhost${path}`, { method });
    const res = await handled(req, ctx(req));
    assert.equal(res.status, 308, `${method} ${path}`);
    assert.equal(res.headers.get("location"), location, path);
  }
  // Not a route without the slash either, or one only on another origin's
  // terms (`//host`): 404 as for any unknown path.
  for (const path of ["/nope/", "/posts/", "//posts/7/"]) {
    const req = new Request(`http://localhost${path}`);
    const res = await handled(req, ctx(req));
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
});

Deno.test("Router: a route with trailingSlash 'same' takes its slashed path itself; its other methods still get the 308", async () => {
  const uploads = new Router([
    {
      method: "PUT",
      pattern: "/files",
      handler: (_req, c) => new Response(`stored ${c.route}`),
      trailingSlash: "same",
    },
    { method: "GET", pattern: "/files", handler: () => new Response("list") },
  ]);
  for (const path of ["/files/", "/files//"]) {
    const req = new Request(`http://localhost${path}`, {
      method: "PUT",
      body: "x",
    });
    const c = ctx(req);
    const res = await uploads.handle(req, c) as Response;
    assert.equal(res.status, 200, path);
    assert.equal(await res.text(), "stored /files");
  }
  const list = new Request("http://localhost/files/");
  const res = await uploads.handle(list, ctx(list)) as Response;
  assert.equal(res.status, 308);
  assert.equal(res.headers.get("location"), "/files");
});

Deno.test("Router answers 405 with Allow for a known path and wrong method", async () => {
  const req = new Request("http://localhost/posts/1", { method: "PUT" });
  const res = await handled(req, ctx(req));
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
  assert.deepEqual((await res.json()).allow, [
    "DELETE",
    "GET",
    "HEAD",
    "OPTIONS",
  ]);
});

Deno.test("Router serves HEAD with the GET handler", () => {
  const match = router.match("HEAD", "/posts/3");
  assert.equal(match.kind, "found");
});

Deno.test("Router rejects duplicate and malformed routes", () => {
  const handler = () => new Response();
  assert.throws(
    () =>
      new Router([
        { method: "GET", pattern: "/a", handler },
        { method: "GET", pattern: "/a", handler },
      ]),
    TypeError,
  );
  assert.throws(
    () => new Router([{ method: "GET", pattern: "a", handler }]),
    TypeError,
  );
  assert.throws(
    () => new Router([{ method: "GET", pattern: "/:x", handler }]),
    TypeError,
  );
});
