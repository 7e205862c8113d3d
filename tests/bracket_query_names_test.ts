/**
 * A parameter named with brackets beside the same name without them
 * (`_limit[]=5&_limit=2`), in front of the real JSONPlaceholder.
 * json-server's query parser (Express's `qs`) files `_limit[]`,
 * `_limit[x]` and `[_limit]` under `_limit`, one list in the order sent,
 * and `parseInt` of that list takes its first value: 5 items there. The
 * service sorted the query by the whole name, so it always asked
 * `_limit=2&_limit[]=5` (2 items) and the two orders shared one cache
 * entry. Found by differential testing with parameter orders shuffled.
 *
 * @module
 */

import assert from "node:assert/strict";
import { canonicalQuery } from "../routes/jsonplaceholder/resources.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { assertListedAsUpstream, ids } from "./fixtures/listed_ids.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("a name with brackets keeps its order beside the same name without: the upstream's answer, a cache entry per order", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  // Each pair: one order, then the other, which shared its cache entry.
  const targets = [
    "/posts?_limit=2&_limit[]=5",
    "/posts?_limit[]=5&_limit=2",
    "/posts?_page=1&_page%5B%5D=3&_limit=2",
    "/posts?_page%5B%5D=3&_page=1&_limit=2",
    "/users/1/todos?_start=1&_start[x]=5&_limit=1",
    "/users/1/todos?_start[x]=5&_start=1&_limit=1",
    "/comments?[_end]=4&_end=2",
    "/comments?_end=2&[_end]=4",
  ];
  await assertListedAsUpstream(upstream.url, service.url, targets);
  // The orders differ there: 5 items and 2.
  assert.equal((await ids(upstream.url + targets[1]!)).length, 5);
  assert.equal((await ids(upstream.url + targets[0]!)).length, 2);
});

Deno.test("canonicalQuery: names json-server reads as one list keep their order, others sorted", () => {
  const of = (search: string) =>
    canonicalQuery(new URLSearchParams(search), search);
  assert.equal(of("?_limit%5B%5D=5&_limit=2"), "?_limit%5B%5D=5&_limit=2");
  assert.equal(of("?_limit=2&_limit[]=5"), "?_limit=2&_limit%5B%5D=5");
  assert.equal(of("?b=1&[a]=2&a=3&a[x]=4"), "?%5Ba%5D=2&a=3&a%5Bx%5D=4&b=1");
  assert.equal(of("?a[=1&a=2"), "?a%5B=1&a=2");
  // Without brackets: as before.
  assert.equal(of("?b=2&a=1&b=1"), "?a=1&b=2&b=1");
  // Undecodable ones: kept as sent, sorted the same way.
  assert.equal(of("?a=%FF&[a]=1"), "?a=%FF&%5Ba%5D=1");
});
