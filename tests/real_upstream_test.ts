/**
 * Against the real JSONPlaceholder code and data (npm `jsonplaceholder`,
 * under Node): every route of ours answers JSON-equal to the service, and
 * its `Cache-Control: no-cache` answers are stored and revalidated with its
 * weak ETags.
 *
 * @module
 */
import assert from "node:assert/strict";
import { NESTED, RESOURCES } from "../routes/jsonplaceholder/routes.ts";
import { cacheNow } from "../services/cache/clock.ts";
import { testApp } from "./fixtures/app.ts";
import { untilAged } from "./fixtures/entry_age.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("every route is JSON-equal to the real JSONPlaceholder", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const paths = [
    ...RESOURCES.flatMap((r) => [`/${r}`, `/${r}/1`, `/${r}/2`]),
    ...NESTED.map(([parent, child]) => `/${parent}/1/${child}`),
    "/comments?postId=1",
    "/posts?userId=1",
    "/todos?userId=2&completed=true",
  ];
  for (const path of paths) {
    const [ours, theirs] = await Promise.all([
      t.get(path),
      fetch(upstream.url + path),
    ]);
    assert.equal(ours.status, 200, path);
    assert.deepEqual(
      JSON.parse(await ours.text()),
      JSON.parse(await theirs.text()),
      path,
    );
  }
  const missing = await t.get("/posts/101");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const summary = await t.get("/users/1/summary");
  const body = await summary.json();
  assert.equal(body.user.id, 1);
  assert.equal(body.posts.length, 10);
  assert.equal(body.todos.length, 20);
  assert.equal(body.albums.length, 10);
  assert.deepEqual(body.errors, []);
});

Deno.test("the real JSONPlaceholder's no-cache answers are stored, then revalidated with its weak ETag (304)", async () => {
  await using upstream = await startJsonPlaceholder();
  // What it sends: no-cache and a weak, Express-made ETag.
  const direct = await fetch(upstream.url + "/posts/1");
  await direct.body?.cancel();
  assert.equal(direct.headers.get("cache-control"), "no-cache");
  const theirs = direct.headers.get("etag")!;
  assert.match(theirs, /^W\/"124-/);
  // And it honours the weak tag in If-None-Match.
  const conditional = await fetch(upstream.url + "/posts/1", {
    headers: { "if-none-match": theirs },
  });
  assert.equal(conditional.status, 304);
  await conditional.body?.cancel();

  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
  ]);
  const first = await t.get("/posts/1");
  const body = await first.text();
  // A bound on the entry's storedAt (the app runs in this process, on
  // this clock): taken after the answer that stored it.
  const answered = { storedAt: cacheNow() };
  assert.equal(first.headers.get("cache-control"), "public, max-age=1");
  const hit = await t.get("/posts/1");
  await hit.body?.cancel();
  assert.match(hit.headers.get("cache-status")!, /; hit;/);
  // Past the 1 s TTL by the entry's own age, not a sleep guessed past it.
  await untilAged(answered, 1000);
  const renewed = await t.get("/posts/1");
  assert.equal(await renewed.text(), body);
  assert.equal(renewed.headers.get("etag"), first.headers.get("etag"));
  assert.equal(renewed.headers.get("age"), "0");
  assert.equal(
    renewed.headers.get("cache-status"),
    "async-api; fwd=stale; fwd-status=304; stored",
  );
  const metrics = await (await t.get("/metrics")).text();
  assert.match(metrics, /^cache_revalidations_total\{outcome="renewed"\} 1$/m);
});

Deno.test("a path with a trailing slash, which the real JSONPlaceholder serves, is a 308 that clients follow to the same JSON", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  for (
    const path of ["/posts/", "/posts/1/", "/users/1/todos/?completed=true"]
  ) {
    const redirect = await fetch(served.url + path, { redirect: "manual" });
    await redirect.body?.cancel();
    assert.equal(redirect.status, 308, path);
    const [ours, theirs] = await Promise.all([
      fetch(served.url + path),
      fetch(upstream.url + path),
    ]);
    assert.equal(ours.status, 200, path);
    assert.ok(ours.redirected, path);
    assert.deepEqual(await ours.json(), await theirs.json(), path);
  }
});

Deno.test("a repeated parameter's values keep their order: json-server reads _limit=5&_limit=10 as 5 and _limit=10&_limit=5 as 10", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  // Each pair holds one query in both orders; each is asked twice (a miss,
  // then a hit), both orders one after the other, as clients would.
  const pairs = [
    ["/posts?_limit=5&_limit=10", "/posts?_limit=10&_limit=5"],
    ["/albums/1/photos?_page=2&_page=1", "/albums/1/photos?_page=1&_page=2"],
    [
      "/users?_sort=address&_sort=city",
      "/users?_sort=city&_sort=address",
    ],
  ];
  for (const pair of pairs) {
    for (const path of [...pair, ...pair]) {
      const [ours, theirs] = await Promise.all([
        fetch(served.url + path),
        fetch(upstream.url + path),
      ]);
      assert.equal(ours.status, 200, path);
      assert.deepEqual(await ours.json(), await theirs.json(), path);
    }
    // The two orders are two answers upstream, so two here.
    const [a, b] = await Promise.all(
      pair.map(async (path) => await (await fetch(upstream.url + path)).text()),
    );
    assert.notEqual(a, b, pair[0]);
  }
  // A paged list's Link names the ids in the order the client gave them.
  const path = "/posts?_page=1&_limit=2&id=9&id=3&id=7";
  const [ours, theirs] = await Promise.all([
    fetch(served.url + path),
    fetch(upstream.url + path),
  ]);
  await Promise.all([ours.body?.cancel(), theirs.body?.cancel()]);
  const next = (link: string | null) =>
    new URL(/<([^>]*)>; rel="next"/.exec(link ?? "")![1]!).searchParams
      .getAll("id");
  assert.deepEqual(next(ours.headers.get("link")), ["9", "3", "7"]);
  assert.deepEqual(
    next(ours.headers.get("link")),
    next(theirs.headers.get("link")),
  );
});

Deno.test("_order is case-insensitive and takes one order per _sort field, as json-server reads it", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  // json-server 0.8 (this package) reverses on DESC, 0.17 (the public
  // service) on desc, and takes a list (`_sort=a,b&_order=desc,asc`).
  for (
    const query of [
      "_sort=id&_order=DESC",
      "_sort=id&_order=desc",
      "_sort=userId,id&_order=desc,asc",
      "_sort=title&_order=Asc",
    ]
  ) {
    const path = `/posts?${query}`;
    const [ours, theirs] = await Promise.all([
      t.get(path),
      fetch(upstream.url + path),
    ]);
    assert.equal(ours.status, 200, path);
    assert.deepEqual(await ours.json(), await theirs.json(), path);
  }
  const descending = await (await t.get("/posts?_sort=id&_order=DESC")).json();
  assert.equal(descending[0].id, 100);
  for (const order of ["up", "desc,", ",asc", "asc;desc", "descending"]) {
    const res = await t.get(`/posts?_sort=id&_order=${order}`);
    assert.equal(res.status, 400, order);
    await res.body?.cancel();
  }
});
