/**
 * A query of more than 1,000 parameters, in front of the real
 * JSONPlaceholder. json-server's query parser (Express's `qs`) reads the
 * first 1,000 `&`-separated pieces (empty ones count) and drops the rest,
 * so `?x&x&…(1,000)&userId=1` is every post there. The service sorted the
 * whole query by name, which put `userId=1` first: it asked for (and
 * cached) user 1's 10 posts. Found by differential testing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { canonicalQuery } from "../routes/jsonplaceholder/resources.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { assertListedAsUpstream, ids } from "./fixtures/listed_ids.ts";
import { serveApp } from "./fixtures/served_app.ts";

const many = (piece: string, count: number) =>
  Array.from({ length: count }, () => piece).join("&");

Deno.test("past the 1,000th parameter the query is what json-server reads: the upstream's answer", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const targets = [
    `/posts?${many("x", 1000)}&userId=1`,
    `/posts?&${many("x=1", 999)}&userId=1&_limit=3`,
    // The 1,000th is read: 10 posts.
    `/posts?${many("x", 999)}&userId=1`,
  ];
  await assertListedAsUpstream(
    upstream.url,
    service.url,
    targets,
    (target) => `${target.slice(0, 12)}…${target.slice(-24)}`,
  );
  assert.equal((await ids(upstream.url + targets[0]!)).length, 100);
  assert.equal((await ids(upstream.url + targets[2]!)).length, 10);
});

Deno.test("canonicalQuery keeps the first 1,000 pieces of a query, empty ones counted", () => {
  const of = (search: string) =>
    canonicalQuery(new URLSearchParams(search), search);
  assert.equal(of(`?${many("b", 1000)}&a=1`), `?${many("b=", 1000)}`);
  assert.equal(of(`?&&${many("b", 998)}&a=1`), `?${many("b=", 998)}`);
  assert.equal(of(`?${many("b", 999)}&a=1`), `?a=1&${many("b=", 999)}`);
});
