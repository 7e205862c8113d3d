/**
 * A memory hit reads the request's headers without making its `Headers`
 * object (services/http/served_headers.ts): in Deno 2.9.6 a handler that
 * made it has its answer copied and sent through two promise reactions.
 * Whether a request's `Headers` was made is read from the runtime's own
 * cache slot of it (`headers cache`); the test fails, not skips, when this
 * runtime has none.
 *
 * @module
 */

import assert from "node:assert/strict";
import { servedHeaders } from "../services/http/served_headers.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const HEADERS_CACHE = Object.getOwnPropertySymbols(
  new Request("http://localhost/"),
).find((key) => key.description === "headers cache");

/** Whether `req.headers` has been made (read by someone). */
function headersMade(req: Request): boolean {
  assert.ok(HEADERS_CACHE !== undefined, "no `headers cache` slot on Request");
  return (req as unknown as Record<symbol, unknown>)[HEADERS_CACHE] !==
    undefined;
}

Deno.test("a memory hit's answer is given without the request's Headers being made", async () => {
  await using upstream = startFixtureUpstream();
  const made: string[] = [];
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
    around: (fetch) => (req, info) => {
      const answer = fetch(req, info);
      if (!(answer instanceof Response)) made.push("a promise");
      else made.push(headersMade(req) ? "Headers made" : "direct");
      return answer;
    },
  });
  const url = `${served.url}/posts/1`;
  const first = await fetch(url);
  const etag = first.headers.get("etag")!;
  await first.body?.cancel();
  made.length = 0;
  const asked: Record<string, string>[] = [
    {},
    // A coded answer is made asynchronously, and goes the promise's way.
    { "accept-encoding": "identity", origin: "http://page.example" },
    { "x-request-id": "hit-1", "if-none-match": etag },
    { "if-none-match": '"other"', "accept-encoding": "identity" },
  ];
  for (const headers of asked) {
    const res = await fetch(url, { headers });
    assert.ok(res.status === 200 || res.status === 304, `${res.status}`);
    assert.match(res.headers.get("cache-status")!, /; hit;/);
    await res.body?.cancel();
  }
  assert.deepEqual(made, asked.map(() => "direct"));
});

Deno.test("servedHeaders reads a served request's headers as req.headers does, and is req.headers for one made here", async () => {
  const seen: [string | null, string | null, boolean][] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const view = servedHeaders(req);
      const names = ["host", "x-one", "x-two", "accept", "absent"];
      const viewed = names.map((name) => [view.get(name), view.has(name)]);
      names.forEach((name, i) =>
        seen.push([
          viewed[i]![0] as string | null,
          req.headers.get(name),
          [
            ...view.keys(),
          ].includes(name) === viewed[i]![1],
        ])
      );
      return new Response("ok");
    },
  );
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
    headers: { "X-One": "1", "x-two": "a, b", accept: "*/*" },
  });
  assert.equal(await res.text(), "ok");
  for (const [fromView, fromHeaders, hasAgrees] of seen) {
    assert.equal(fromView, fromHeaders);
    assert.ok(hasAgrees);
  }
  assert.equal(seen[1]![0], "1");
  const made = new Request("http://localhost/", { headers: { "x-a": "1" } });
  assert.equal(servedHeaders(made), made.headers);
});
