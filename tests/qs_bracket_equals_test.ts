/**
 * A query piece with `]=` (`%5D` counting as `]`), in front of the real
 * JSONPlaceholder. json-server's query parser (Express's `qs`) cuts such a
 * piece after that `]`, not at its first `=`: `title=a%5D=b` is a
 * parameter named `title=a]`, which no post has, so json-server drops it
 * and answers every post. The service read it as the filter `title` =
 * `a]=b` and sent it on re-encoded (`title=a%5D%3Db`): no post; and
 * `name_like=(%5D=b` was a 400 for a regular expression json-server never
 * sees.
 *
 * @module
 */

import assert from "node:assert/strict";
import { canonicalQuery } from "../routes/jsonplaceholder/resources.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { assertListedAsUpstream, ids } from "./fixtures/listed_ids.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("a piece with ]= is the parameter qs makes of it: the upstream's answer, cold and warm", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const targets = [
    "/posts?title=a%5D=b",
    "/posts?title=a]=b&_limit=3",
    "/posts?userId=1&body=x%5d=y",
    "/comments?name_like=(%5D=b&_limit=2",
    "/todos?completed=true&user%5BId%5D=2",
  ];
  await assertListedAsUpstream(upstream.url, service.url, targets);
  assert.equal((await ids(upstream.url + targets[0]!)).length, 100);
});

Deno.test("canonicalQuery: a piece with ]= is cut after the ], as qs cuts it", () => {
  const of = (search: string) =>
    canonicalQuery(new URLSearchParams(search), search);
  assert.equal(of("?title=a%5D=b"), "?title%3Da%5D=b");
  assert.equal(of("?title=a]=b&_limit=3"), "?_limit=3&title%3Da%5D=b");
  // `%5D` or `]`, either case: one parameter, one entry.
  assert.equal(of("?title=a%5d=b"), of("?title=a]=b"));
  // Without ]=: as before.
  assert.equal(of("?title=a%3Db"), "?title=a%3Db");
  assert.equal(of("?b=a+b&a=%5D"), "?a=%5D&b=a+b");
});

Deno.test("the query check reads a piece with ]= as the filters and qs do: ?_page=1%5D=2 is no _page, the upstream's answer", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const targets = [
    "/posts?_page=1%5D=2",
    "/posts?_page=1]=2&_limit=3",
    "/comments?_limit=2%5D=3&postId=1",
    // An escape that is no UTF-8 after ]=: qs keeps it undecoded (a 500).
    "/posts?a%5D=%FF&_limit=2",
  ];
  await assertListedAsUpstream(upstream.url, service.url, targets);
  assert.equal((await ids(upstream.url + targets[0]!)).length, 100);
  // Declared parameters are still checked where qs reads them as such.
  const bad = await fetch(`${service.url}/posts?_page=0&a%5D=b`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).detail, /_page/);
});

Deno.test("GET /files reads its query the one way too: ?limit=0%5D=2 is no limit, ?limit=0 still 400", async () => {
  await using service = await serveApp({});
  const cut = await fetch(`${service.url}/files?limit=0%5D=2`);
  assert.equal(cut.status, 200, await cut.clone().text());
  assert.deepEqual((await cut.json()).items, []);
  const zero = await fetch(`${service.url}/files?limit=0`);
  assert.equal(zero.status, 400);
  await zero.body?.cancel();
});
