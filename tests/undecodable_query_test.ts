/**
 * A query with an escape that is no UTF-8 (`%FF`, `%E6` alone, `%zz`),
 * in front of the real JSONPlaceholder. json-server's query parser (`qs`)
 * leaves a name or value it cannot decode as sent, so
 * `title_like=[%FF]` is the regular expression `[%FF]` there: the titles
 * with an `f`. The service re-encoded the query from `URLSearchParams`,
 * which reads `%FF` as U+FFFD, so it asked `[%EF%BF%BD]` (no title) and
 * answered `[]`, and that query and `[%FF]` shared one cache entry: the
 * one asked first answered both. Found by differential testing against
 * the real service.
 *
 * @module
 */

import assert from "node:assert/strict";
import { canonicalQuery } from "../routes/jsonplaceholder/resources.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { assertListedAsUpstream, ids } from "./fixtures/listed_ids.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("a query with an escape that is no UTF-8 passes on as sent, and keeps a cache entry of its own", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const targets = [
    // U+FFFD asked first: it would have answered the raw one from the cache.
    "/posts?title_like=[%EF%BF%BD]&_limit=5",
    "/posts?title_like=[%FF]&_limit=5",
    "/posts?_limit=5&title_like=[%FF]",
    "/todos?_sort=id&title_like=[%E6]|^a&_order=DESC&_limit=4",
    "/comments?q=%zz%41&_limit=3",
    "/users/1/posts?title_like=[%C3]&id_ne=2",
  ];
  // Warm too: from the cache, still its own answer.
  await assertListedAsUpstream(upstream.url, service.url, targets);
  // The case that differed: json-server finds titles with an `f`.
  assert.ok(
    (await ids(upstream.url + "/posts?title_like=[%FF]&_limit=5")).length > 0,
  );
});

Deno.test("canonicalQuery: a parameter that is no UTF-8 is kept as sent, the others made canonical, all sorted by name", () => {
  const of = (search: string) =>
    canonicalQuery(new URLSearchParams(search), search);
  assert.equal(of("?b=%FF&a=x+y"), "?a=x+y&b=%FF");
  assert.equal(of("?b=1&a=[%E6]&b=%zz&a=2"), "?a=[%E6]&a=2&b=1&b=%zz");
  assert.equal(of("?x&&%FF=1"), "?x=&%FF=1");
  // Queries that decode: as before.
  assert.equal(of("?b=%C3%A9&a=%5B1%5D"), "?a=%5B1%5D&b=%C3%A9");
  assert.equal(of("?q=%25"), "?q=%25");
  assert.equal(of(""), "");
});
