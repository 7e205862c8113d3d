/**
 * One client address flooding distinct cold keys (`/comments?postId=N` for
 * many N) against a slow upstream took every upstream slot and every place
 * in the wait queue, so another client's cold miss was shed with 503 while
 * the flood lasted (only keys with a stale copy still answered).
 * `UPSTREAM_CLIENT_SHARE_PERCENT` caps what one address may hold, waiting
 * or in flight: the flood's excess is shed at once and the other client
 * waits its turn in the queue and is served.
 *
 * Real sockets on loopback: the flood comes from 127.0.0.1, the other
 * client from 127.0.0.2 (`Deno.createHttpClient`'s `localAddress`), to the
 * real app served on a free port, over a Deno upstream on port 0 that
 * answers the flood's keys after 1.5 s.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { serveSlowComments } from "./fixtures/slow_comments.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const FLOOD = 40;

/**
 * Status, `Retry-After`, `Content-Type` and body of one GET, sent through
 * `client` when given (another local address).
 */
async function got(url: string, client?: Deno.HttpClient) {
  const res = await fetch(url, client ? { client } : {});
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    contentType: res.headers.get("content-type"),
    body: await res.text(),
  };
}

Deno.test("one address flooding cold keys holds at most its share of the upstream slots and queue: another address's cold miss is served, the excess shed with 503, counted and logged", async () => {
  await using slow = await serveSlowComments();
  const { upstream, served } = slow;
  // 4 + 8 places, half of them for one address: 6.
  const flood = Array.from(
    { length: FLOOD },
    (_, n) => got(`${served.url}/comments?postId=${n + 1}`),
  );
  await upstream.waitForRequests(4, /^\/comments\?/);
  using other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const miss = await got(`${served.url}/users/3/todos`, other);
  const flooded = await Promise.all(flood);
  // Before: the flood held all 4 slots and all 8 places in the queue, and
  // this miss was shed with 503.
  assert.equal(miss.status, 200, miss.body);
  assert.equal((JSON.parse(miss.body) as unknown[]).length, 20);
  const ok = flooded.filter((r) => r.status === 200).length;
  const shed = flooded.filter((r) => r.status === 503);
  assert.equal(ok, 6, "the flood's share: 4 in flight and 2 waiting");
  assert.equal(shed.length, FLOOD - 6);
  for (const r of shed) {
    assert.equal(r.contentType, "application/problem+json");
    assert.equal(r.retryAfter, "1");
    assert.match(r.body, /share of the upstream's slots and queue/);
  }
  assert.equal(upstream.hits(/^\/comments\?/), 6);
  const metrics = await (await fetch(`${served.url}/metrics`)).text();
  assert.match(
    metrics,
    new RegExp(
      `^upstream_shed_total\\{reason="client_share",answer="refused"\\} ${
        FLOOD - 6
      }$`,
      "m",
    ),
  );
  assert.match(
    metrics,
    /^upstream_shed_total\{reason="queue_full",answer="refused"\} 0$/m,
  );
  const line = served.records.find((r) => r.msg === "upstream.shed");
  assert.equal(line?.reason, "client_share", JSON.stringify(line));
});

Deno.test("the same key asked by both addresses is one upstream request: the flight is shared, not counted twice", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault(/^\/comments\?postId=7$/, { delayMs: 800 });
  await using served = await serveApp({
    args: [
      "--upstream-url",
      upstream.url,
      "--upstream-concurrency",
      "1",
      "--upstream-queue-limit",
      "0",
    ],
  });
  using other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const url = `${served.url}/comments?postId=7`;
  const first = got(url);
  await upstream.waitForRequests(1, /^\/comments\?/);
  // This address's share (1) is free, the one slot is not: it joins the
  // flight rather than asking again (and being shed: the queue holds 0).
  const [a, b, c] = await Promise.all([
    first,
    got(url, other),
    got(url),
  ]);
  assert.deepEqual([a.status, b.status, c.status], [200, 200, 200]);
  assert.equal(b.body, a.body);
  assert.equal(upstream.hits(/^\/comments\?/), 1);
});
