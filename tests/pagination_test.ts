/**
 * The paging headers of lists (`X-Total-Count`, `Link`), as the real
 * JSONPlaceholder sends them: read off the upstream's answer, its `Link`
 * targets made paths on this service, kept in the cache (memory and Redis)
 * and sent on every hit, the links absolute on the origin the client asked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { linksOf } from "./fixtures/link_header.ts";
import {
  addPaginationHeaders,
  parseLink,
  totalCountOf,
} from "../services/http/pagination.ts";
import { originOf } from "../services/http/request_target.ts";
import { paginationOf } from "../services/upstream/answer_meta.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { redisInstances, sharedArgs } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { serveApp } from "./fixtures/served_app.ts";

// What json-server sends for `/posts?_page=2&_limit=2`.
const JSON_SERVER_LINK =
  '<http://up:3000/posts?_page=1&_limit=2>; rel="first", ' +
  '<http://up:3000/posts?_page=1&_limit=2>; rel="prev", ' +
  '<http://up:3000/posts?_page=3&_limit=2>; rel="next", ' +
  '<http://up:3000/posts?_page=50&_limit=2>; rel="last"';

Deno.test("parseLink reads RFC 8288 elements, quoted params whole, and refuses a malformed value", () => {
  assert.deepEqual(parseLink(JSON_SERVER_LINK)?.map(([, p]) => p), [
    'rel="first"',
    'rel="prev"',
    'rel="next"',
    'rel="last"',
  ]);
  assert.deepEqual(
    parseLink('</a>; rel=next; title="x, y; z", </b>;rel="prev"'),
    [["/a", 'rel=next; title="x, y; z"'], ["/b", 'rel="prev"']],
  );
  assert.deepEqual(parseLink("</a>"), [["/a", ""]]);
  assert.deepEqual(parseLink(""), []);
  for (const bad of ["/a; rel=next", "</a>; rel=next junk", "</a> </b>"]) {
    assert.equal(parseLink(bad), undefined, bad);
  }
});

Deno.test("totalCountOf keeps digits only; originOf is the request URL's origin", () => {
  assert.equal(totalCountOf(" 100 "), "100");
  for (const bad of [null, "", "-1", "1e3", "12abc", "9".repeat(16)]) {
    assert.equal(totalCountOf(bad), undefined, String(bad));
  }
  assert.equal(originOf("http://h:8000/posts?x=1"), "http://h:8000");
  assert.equal(originOf("http://[::1]:80/"), "http://[::1]:80");
});

Deno.test("paginationOf makes the upstream's links paths here and leaves out links elsewhere", () => {
  const headers = new Headers({
    "x-total-count": "100",
    "link": JSON_SERVER_LINK.replace(
      "<http://up:3000/posts?_page=50",
      "<http://elsewhere/posts?_page=50",
    ),
  });
  assert.deepEqual(paginationOf(headers, "http://up:3000"), {
    totalCount: "100",
    links: [
      ["/posts?_page=1&_limit=2", 'rel="first"'],
      ["/posts?_page=1&_limit=2", 'rel="prev"'],
      ["/posts?_page=3&_limit=2", 'rel="next"'],
    ],
  });
  // An upstream under a path: its links are paths under it.
  const under = new Headers({
    link: '<https://h/v1/posts?_page=2>; rel="next"',
  });
  assert.deepEqual(paginationOf(under, "https://h/v1"), {
    links: [["/posts?_page=2", 'rel="next"']],
  });
  assert.equal(paginationOf(new Headers(), "http://up:3000"), undefined);
  assert.equal(
    paginationOf(new Headers({ link: "junk" }), "http://up:3000"),
    undefined,
  );
});

Deno.test("addPaginationHeaders writes the links absolute on the client's origin", () => {
  const headers: Record<string, string> = {};
  addPaginationHeaders(headers, {
    totalCount: "10",
    links: [["/posts?_page=2", 'rel="next"'], ["/posts?_page=1", ""]],
  }, "http://api.example:8080");
  assert.deepEqual(headers, {
    "x-total-count": "10",
    "link": '<http://api.example:8080/posts?_page=2>; rel="next", ' +
      "<http://api.example:8080/posts?_page=1>",
  });
});

Deno.test("a paged list keeps the real JSONPlaceholder's X-Total-Count and Link, on a miss and on a hit, and its next link works", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  for (const outcome of ["fwd=miss", "hit"]) {
    const page = await fetch(`${served.url}/posts?_page=2&_limit=2`);
    const body = await page.json();
    assert.match(page.headers.get("cache-status")!, new RegExp(outcome));
    assert.equal(page.headers.get("x-total-count"), "100");
    assert.deepEqual(body.map((p: { id: number }) => p.id), [3, 4]);
    const links = linksOf(page);
    assert.deepEqual(Object.keys(links).sort(), [
      "first",
      "last",
      "next",
      "prev",
    ]);
    for (const url of Object.values(links)) {
      assert.ok(url.startsWith(served.url + "/posts?"), url);
    }
    // A client pages by following `next`, as it is.
    const next = await fetch(links.next!);
    assert.deepEqual(
      (await next.json()).map((p: { id: number }) => p.id),
      [5, 6],
    );
    assert.equal(next.headers.get("x-total-count"), "100");
    assert.equal(
      linksOf(next).prev,
      links.first!.replace("_page=1", "_page=2"),
    );
  }
  const nested = await fetch(`${served.url}/users/1/posts?_page=1&_limit=3`);
  await nested.body?.cancel();
  assert.equal(nested.headers.get("x-total-count"), "10");
  assert.ok(linksOf(nested).next?.startsWith(`${served.url}/users/1/posts?`));
  const sliced = await fetch(`${served.url}/posts?_start=0&_end=2`);
  await sliced.body?.cancel();
  assert.equal(sliced.headers.get("x-total-count"), "100");
  assert.equal(sliced.headers.get("link"), null);
  const item = await fetch(`${served.url}/posts/1`);
  await item.body?.cancel();
  assert.equal(item.headers.get("x-total-count"), null);
  assert.equal(item.headers.get("link"), null);
});

Deno.test("REDIS_URL: a paged list stored by instance A keeps its paging headers on B's hit, links on B's origin", async () => {
  await using upstream = await startJsonPlaceholder();
  await using redis = await startRedis();
  await using apps = await redisInstances(
    2,
    sharedArgs(upstream.url, redis.url),
  );
  const [a, b] = apps;
  const path = "/comments?postId=1&_page=1&_limit=2";
  const first = await a.get(path);
  await first.body?.cancel();
  assert.match(first.headers.get("cache-status")!, /fwd=miss/);
  const second = await b.app.fetch(new Request(`http://b.example${path}`));
  await second.body?.cancel();
  assert.match(second.headers.get("cache-status")!, /; hit/);
  assert.equal(second.headers.get("x-total-count"), "5");
  assert.equal(
    linksOf(second).next,
    "http://b.example/comments?_limit=2&_page=2&postId=1",
  );
});
