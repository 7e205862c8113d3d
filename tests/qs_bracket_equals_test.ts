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
