/**
 * Revalidation and upstream directives end to end, through the app, against
 * the fixture upstream with validators on: a stale entry is refreshed with
 * `If-None-Match`/`If-Modified-Since`; a 304 moves no body bytes and keeps
 * our body and ETag; a changed body replaces; `no-store`/`private` answers
 * are not stored; `no-cache` answers are stored and revalidated.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type TestApp, testApp } from "./fixtures/app.ts";
import { heldEntry, untilAged } from "./fixtures/entry_age.ts";
import {
  type FixtureUpstream,
  startFixtureUpstream,
} from "./fixtures/upstream.ts";

/** The cache's TTL in these tests. */
const TTL_MS = 1000;

/** The app on `upstream`: fresh for 1 s, then refreshed in the foreground. */
function appOn(upstream: FixtureUpstream): Promise<TestApp> {
  return testApp([
    "--upstream-url",
    upstream.url,
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
  ]);
}

/** The value of one sample on `/metrics`. */
async function metric(t: TestApp, sample: string): Promise<number | undefined> {
  const text = await (await t.get("/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(sample + " "));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

Deno.test("a 304 from the upstream renews the entry: no body bytes moved, same body and ETag, Age 0", async () => {
  await using upstream = startFixtureUpstream({
    validators: { etag: true, lastModified: true },
  });
  await using t = await appOn(upstream);
  const first = await t.get("/posts/1");
  const body = await first.text();
  const etag = first.headers.get("etag")!;
  const fullBody = upstream.bodyBytesSent;
  const fullWire = upstream.wireBytesSent;
  assert.ok(fullBody > 200, `the first answer sent ${fullBody} body bytes`);

  await untilAged(heldEntry(t.app.cache, "/posts/1"), TTL_MS);
  upstream.resetHits();
  const second = await t.get("/posts/1");
  assert.equal(second.status, 200);
  assert.equal(await second.text(), body);
  assert.equal(second.headers.get("etag"), etag);
  assert.equal(second.headers.get("age"), "0");
  assert.equal(
    second.headers.get("cache-status"),
    "async-api; fwd=stale; fwd-status=304; stored",
  );
  // One conditional request, answered without a body.
  assert.equal(upstream.hits(), 1);
  const [asked] = upstream.requests;
  assert.match(asked!.headers.get("if-none-match")!, /^W\/"/);
  assert.ok(asked!.headers.get("if-modified-since"));
  assert.equal(upstream.bodyBytesSent, 0);
  assert.ok(
    fullWire - upstream.wireBytesSent >= fullBody,
    `wire bytes: ${fullWire} for the 200, ${upstream.wireBytesSent} for the 304`,
  );
  // Clients holding our ETag keep getting 304.
  const revalidated = await t.get("/posts/1", {
    headers: { "if-none-match": etag },
  });
  assert.equal(revalidated.status, 304);
  await revalidated.body?.cancel();
  assert.equal(
    await metric(t, 'cache_revalidations_total{outcome="renewed"}'),
    1,
  );
  assert.equal(
    await metric(t, 'cache_lookups_total{outcome="revalidated"}'),
    1,
  );
});

Deno.test("Last-Modified alone revalidates with If-Modified-Since", async () => {
  await using upstream = startFixtureUpstream({
    validators: { lastModified: true },
  });
  await using t = await appOn(upstream);
  await (await t.get("/users/1")).body?.cancel();
  await untilAged(heldEntry(t.app.cache, "/users/1"), TTL_MS);
  upstream.resetHits();
  const second = await t.get("/users/1");
  assert.equal((await second.json()).id, 1);
  const [asked] = upstream.requests;
  assert.equal(asked!.headers.get("if-none-match"), null);
  assert.ok(asked!.headers.get("if-modified-since"));
  assert.equal(upstream.bodyBytesSent, 0);
  assert.match(second.headers.get("cache-status")!, /fwd-status=304/);
});

Deno.test("a changed upstream body answers the conditional request 200 and replaces the entry", async () => {
  await using upstream = startFixtureUpstream({
    validators: { etag: true, lastModified: true },
  });
  await using t = await appOn(upstream);
  const first = await t.get("/posts/1");
  await first.body?.cancel();
  const edited = '{"userId":1,"id":1,"title":"edited","body":"new"}';
  upstream.setFault("/posts/1", { body: edited });
  await untilAged(heldEntry(t.app.cache, "/posts/1"), TTL_MS);
  upstream.resetHits();
  const second = await t.get("/posts/1");
  assert.equal(await second.text(), edited);
  assert.notEqual(second.headers.get("etag"), first.headers.get("etag"));
  assert.equal(
    second.headers.get("cache-status"),
    "async-api; fwd=miss; stored",
  );
  assert.ok(upstream.requests[0]!.headers.get("if-none-match"));
  assert.equal(upstream.bodyBytesSent, edited.length);
  // The new version is what is stored now.
  const third = await t.get("/posts/1");
  assert.equal(await third.text(), edited);
  assert.equal(upstream.hits(), 1);
  assert.equal(
    await metric(t, 'cache_revalidations_total{outcome="replaced"}'),
    1,
  );
});

for (const directive of ["no-store", "private, max-age=60"]) {
  Deno.test(`Cache-Control: ${directive} from the upstream: the answer is passed on, not stored`, async () => {
    await using upstream = startFixtureUpstream({
      validators: { etag: true },
    });
    await using t = await appOn(upstream);
    upstream.setFault("/posts/2", {
      headers: { "cache-control": directive },
      delayMs: 100,
    });
    // Five at once: one upstream request, all five get its answer.
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => t.get("/posts/2")),
    );
    assert.equal(upstream.hits("/posts/2"), 1);
    for (const res of answers) {
      assert.equal(res.status, 200);
      assert.equal((await res.json()).id, 2);
      assert.equal(res.headers.get("cache-control"), directive);
      assert.equal(res.headers.get("age"), null);
      assert.match(res.headers.get("cache-status")!, /; stored=\?0$/);
    }
    // Nothing was kept: the next request goes to the upstream again,
    // unconditionally.
    const again = await t.get("/posts/2");
    await again.body?.cancel();
    assert.equal(upstream.hits("/posts/2"), 2);
    assert.equal(upstream.requests.at(-1)!.headers.get("if-none-match"), null);
    // A summary built from such a part is not kept downstream either.
    upstream.setFault("/users/1/posts", {
      headers: { "cache-control": directive },
    });
    const summary = await t.get("/users/1/summary");
    await summary.body?.cancel();
    assert.equal(summary.headers.get("cache-control"), "no-store");
  });
}

Deno.test("Cache-Control: no-cache from the upstream: stored for CACHE_TTL_SECONDS, then revalidated", async () => {
  await using upstream = startFixtureUpstream({
    validators: { etag: true },
  });
  await using t = await appOn(upstream);
  upstream.setFault("/todos/1", {
    headers: { "cache-control": "no-cache" },
  });
  const first = await t.get("/todos/1");
  await first.body?.cancel();
  assert.equal(first.headers.get("cache-control"), "public, max-age=1");
  const hit = await t.get("/todos/1");
  await hit.body?.cancel();
  assert.match(hit.headers.get("cache-status")!, /; hit;/);
  assert.equal(upstream.hits("/todos/1"), 1);
  await untilAged(heldEntry(t.app.cache, "/todos/1"), TTL_MS);
  const renewed = await t.get("/todos/1");
  await renewed.body?.cancel();
  assert.match(renewed.headers.get("cache-status")!, /fwd-status=304/);
  assert.equal(upstream.hits("/todos/1"), 2);
  assert.ok(upstream.requests.at(-1)!.headers.get("if-none-match"));
});
