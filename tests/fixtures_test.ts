/**
 * The test fixtures themselves: the fixture upstream serves the real
 * JSONPlaceholder data and its nested routes, records requests, and its
 * fault knobs (delay, status, malformed bodies, dropped connections, huge
 * bodies) do what they say.
 *
 * @module
 */

import assert from "node:assert/strict";
import data from "jsonplaceholder/data.json" with { type: "json" };
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { freePort } from "./fixtures/free_port.ts";

const STUB = new URL("./fixtures/listening_stub.ts", import.meta.url);

async function getJson(url: string): Promise<[number, unknown, Headers]> {
  const res = await fetch(url);
  return [res.status, await res.json(), res.headers];
}

Deno.test("fixture upstream serves the real data", async () => {
  await using upstream = startFixtureUpstream();
  assert.ok(/^http:\/\/127\.0\.0\.1:\d+$/.test(upstream.url));

  const res = await fetch(`${upstream.url}/posts/1`);
  assert.deepStrictEqual(res.status, 200);
  assert.deepStrictEqual(
    res.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  const text = await res.text();
  assert.deepStrictEqual(text, JSON.stringify(data.posts[0], null, 2));

  const [, comments] = await getJson(`${upstream.url}/comments?postId=1`);
  assert.ok(Array.isArray(comments));
  assert.deepStrictEqual(comments.length, 5);
  assert.deepStrictEqual(comments, data.comments.filter((c) => c.postId === 1));

  const [, one] = await getJson(`${upstream.url}/comments?postId=1&id=3`);
  assert.deepStrictEqual(one, [data.comments[2]]);

  const [, all] = await getJson(`${upstream.url}/posts`);
  assert.deepStrictEqual(all, data.posts);
});

Deno.test("fixture upstream serves nested routes", async () => {
  await using upstream = startFixtureUpstream();
  const cases: [string, unknown[]][] = [
    ["/posts/1/comments", data.comments.filter((c) => c.postId === 1)],
    ["/users/1/posts", data.posts.filter((p) => p.userId === 1)],
    ["/users/1/todos", data.todos.filter((t) => t.userId === 1)],
    ["/users/1/albums", data.albums.filter((a) => a.userId === 1)],
    ["/albums/1/photos", data.photos.filter((p) => p.albumId === 1)],
    ["/posts/999/comments", []],
  ];
  for (const [path, expected] of cases) {
    const [status, body] = await getJson(upstream.url + path);
    assert.deepStrictEqual([path, status, body], [path, 200, expected]);
  }
});

Deno.test("fixture upstream answers 404 {} for missing things", async () => {
  await using upstream = startFixtureUpstream();
  for (const path of ["/posts/999", "/nope", "/posts/1/nope", "/a/b/c/d"]) {
    const res = await fetch(upstream.url + path);
    assert.deepStrictEqual([path, res.status, await res.text()], [
      path,
      404,
      "{}",
    ]);
  }
});

Deno.test("fixture upstream counts hits and records requests", async () => {
  await using upstream = startFixtureUpstream();
  await (await fetch(`${upstream.url}/posts/1`)).body?.cancel();
  await (await fetch(`${upstream.url}/posts/1`, {
    headers: { "x-test": "yes" },
  })).body?.cancel();
  await (await fetch(`${upstream.url}/comments?postId=1`)).body?.cancel();

  assert.deepStrictEqual(upstream.hits(), 3);
  assert.deepStrictEqual(upstream.hits("/posts/1"), 2);
  assert.deepStrictEqual(upstream.hits("/comments?postId=1"), 1);
  assert.deepStrictEqual(upstream.hits("/comments"), 1);
  assert.deepStrictEqual(upstream.hits(/^\/posts/), 2);
  assert.deepStrictEqual(upstream.hits("/users"), 0);
  const [first, second, third] = upstream.requests;
  assert.deepStrictEqual(first?.method, "GET");
  assert.deepStrictEqual(first?.path, "/posts/1");
  assert.deepStrictEqual(second?.headers.get("x-test"), "yes");
  assert.deepStrictEqual([third?.path, third?.search], [
    "/comments",
    "?postId=1",
  ]);

  upstream.resetHits();
  assert.deepStrictEqual(upstream.hits(), 0);
  assert.deepStrictEqual(upstream.requests.length, 0);
});

Deno.test("fault: delayMs holds the answer back", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { delayMs: 200 });
  const started = performance.now();
  const [status, body] = await getJson(`${upstream.url}/posts/1`);
  // A timer never fires early: load only makes this longer.
  assert.ok(performance.now() - started >= 190);
  assert.deepStrictEqual([status, body], [200, data.posts[0]]);
});

Deno.test("fault: delayMs holds back only the path it is set for", async () => {
  const upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { delayMs: 60_000 });
  let held = true;
  const slow = fetch(`${upstream.url}/posts/1`).then(
    (res) => res.body?.cancel(),
    () => {},
  ).finally(() => held = false);
  await upstream.waitForRequests(1, "/posts/1");
  const [status, body] = await getJson(`${upstream.url}/posts/2`);
  assert.deepStrictEqual([status, body], [200, data.posts[1]]);
  // Answered while /posts/1 is still held back.
  assert.ok(held, "/posts/1 answered before /posts/2");
  await upstream[Symbol.asyncDispose]();
  await slow;
});

Deno.test("fault: status with Retry-After", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("*", { status: 503, headers: { "retry-after": "2" } });
  const [status, body, headers] = await getJson(`${upstream.url}/posts/1`);
  assert.deepStrictEqual([status, body], [503, {}]);
  assert.deepStrictEqual(headers.get("retry-after"), "2");
  upstream.clearFaults();
  assert.deepStrictEqual((await getJson(`${upstream.url}/posts/1`))[0], 200);
});

Deno.test("fault: malformed body and content type", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { body: "{oops" });
  const res = await fetch(`${upstream.url}/posts/1`);
  assert.deepStrictEqual(res.status, 200);
  await assert.rejects(() => res.json(), SyntaxError);

  upstream.setFault("/posts/1", { body: "<html>", contentType: "text/html" });
  const html = await fetch(`${upstream.url}/posts/1`);
  assert.deepStrictEqual(html.headers.get("content-type"), "text/html");
  assert.deepStrictEqual(await html.text(), "<html>");
});

Deno.test("fault: drop makes fetch reject with a TypeError", async () => {
  await using upstream = startFixtureUpstream();
  // A kept-alive connection is dropped as well as a fresh one.
  await (await fetch(`${upstream.url}/posts/2`)).body?.cancel();
  upstream.setFault(/^\/posts\/1$/, { drop: true });
  await assert.rejects(() => fetch(`${upstream.url}/posts/1`), TypeError);
  await assert.rejects(() => fetch(`${upstream.url}/posts/1`), TypeError);
  assert.deepStrictEqual(upstream.hits("/posts/1"), 2);
  // Other paths, and the same path later, still work.
  assert.deepStrictEqual((await getJson(`${upstream.url}/posts/2`))[0], 200);
  upstream.clearFaults();
  assert.deepStrictEqual((await getJson(`${upstream.url}/posts/1`))[0], 200);
});

Deno.test("fault: drop after a delay", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("*", { drop: true, delayMs: 50 });
  await assert.rejects(() => fetch(`${upstream.url}/posts/1`), TypeError);
});

Deno.test("fault: times applies to the next N requests only", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { status: 500, times: 2 });
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    statuses.push((await getJson(`${upstream.url}/posts/1`))[0]);
  }
  assert.deepStrictEqual(statuses, [500, 500, 200, 200]);

  upstream.setFault("/posts/1", { drop: true, times: 1 });
  await assert.rejects(() => fetch(`${upstream.url}/posts/1`), TypeError);
  assert.deepStrictEqual((await getJson(`${upstream.url}/posts/1`))[0], 200);
});

Deno.test("fault: hugeBodyBytes streams valid JSON", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts", { hugeBodyBytes: 5_000_000 });
  const res = await fetch(`${upstream.url}/posts`);
  const text = await res.text();
  assert.ok(text.length >= 5_000_000, `only ${text.length} bytes`);
  assert.ok(text.length < 5_200_000, `${text.length} bytes`);
  assert.ok(Array.isArray(JSON.parse(text)));

  // In small writes it is the same body.
  upstream.setFault("/posts", { hugeBodyBytes: 100_000, chunkBytes: 1000 });
  const small = await (await fetch(`${upstream.url}/posts`)).text();
  assert.ok(small.length >= 100_000 && Array.isArray(JSON.parse(small)));
  assert.throws(
    () => upstream.setFault("/x", { hugeBodyBytes: 10, chunkBytes: 0 }),
    RangeError,
  );

  // A client may give up early; the fixture still closes cleanly.
  const early = await fetch(`${upstream.url}/posts`);
  const reader = early.body!.getReader();
  await reader.read();
  await reader.cancel();
});

Deno.test("fault: the newest matching rule wins; bad knobs throw", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("*", { status: 500 });
  upstream.setFault("/posts/1", { status: 429 });
  assert.deepStrictEqual((await getJson(`${upstream.url}/posts/1`))[0], 429);
  assert.deepStrictEqual((await getJson(`${upstream.url}/posts/2`))[0], 500);
  let threw = 0;
  for (
    const fault of [{ times: 0 }, { delayMs: -1 }, { status: 99 }, {
      hugeBodyBytes: 1,
    }]
  ) {
    try {
      upstream.setFault("*", fault);
    } catch (error) {
      assert.ok(error instanceof RangeError);
      threw++;
    }
  }
  assert.deepStrictEqual(threw, 4);
});

Deno.test("waitForRequests is a sync point for in-flight requests", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { delayMs: 100 });
  const response = fetch(`${upstream.url}/posts/1`);
  const [received] = await upstream.waitForRequests(1, "/posts/1");
  assert.deepStrictEqual(received?.path, "/posts/1");
  assert.deepStrictEqual((await (await response).json()).id, 1);
});

Deno.test("waitForRequests gives up after timeoutMs", async () => {
  await using upstream = startFixtureUpstream();
  await assert.rejects(
    () => upstream.waitForRequests(1, "*", { timeoutMs: 20 }),
    /Fewer than 1 requests/,
  );
});

Deno.test("dispose cuts short a pending delay and rejects waiters", async () => {
  const delayMs = 60_000;
  // Started before the request, so it runs out before the fixture's delay:
  // a dispose that waited that delay out comes second.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ranOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("the delay ran out"), delayMs);
  });
  const upstream = startFixtureUpstream();
  upstream.setFault("*", { delayMs });
  const response = fetch(`${upstream.url}/posts/1`).then(
    (res) => res.body?.cancel(),
    () => {},
  );
  await upstream.waitForRequests(1);
  const waiting = assert.rejects(upstream.waitForRequests(5));
  const disposed = (async () => {
    await upstream[Symbol.asyncDispose]();
    await response;
    await waiting;
    return "disposed";
  })();
  try {
    assert.equal(await Promise.race([disposed, ranOut]), "disposed");
  } finally {
    clearTimeout(timer);
  }
});

Deno.test("startJsonPlaceholder runs the real service", async () => {
  await using upstream = startFixtureUpstream();
  await using real = await startJsonPlaceholder();
  for (
    const path of ["/posts/1", "/comments?postId=1", "/users/1/todos"]
  ) {
    const [realStatus, realBody] = await getJson(real.url + path);
    const [fixtureStatus, fixtureBody] = await getJson(upstream.url + path);
    assert.deepStrictEqual([path, fixtureStatus, fixtureBody], [
      path,
      realStatus,
      realBody,
    ]);
  }
  const res = await fetch(`${real.url}/posts/999`);
  assert.deepStrictEqual([res.status, await res.text()], [404, "{}"]);
});

Deno.test("freePort returns a bindable loopback port", () => {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});

Deno.test("spawnService waits for the listening line", async () => {
  await using service = await spawnService(["--flag"], { script: STUB });
  assert.ok(/^http:\/\/127\.0\.0\.1:\d+$/.test(service.url));
  const res = await fetch(service.url);
  assert.deepStrictEqual(await res.text(), "ok");
  const listening = JSON.parse(service.lines[0] ?? "");
  assert.deepStrictEqual(listening.args, ["--flag"]);

  service.kill("SIGTERM");
  assert.deepStrictEqual((await service.status).code, 0);
  await service.waitForLine((record) => record.msg === "stopped");
});

Deno.test("spawnService reports a failed start", async () => {
  await assert.rejects(
    () => spawnService(["--fail"], { script: STUB }),
    (error: Error) =>
      error.message.includes("exit code 2") &&
      error.message.includes("bad setting: --fail"),
  );
});

Deno.test("spawnService: a start that never listens fails naming the CPU it used and the load", async () => {
  // The bound is a hang detector; what the message says tells a start
  // starved by load (little CPU used, high load) from a hung one. (Its
  // stderr is in the message too, if it wrote any before the bound.)
  await assert.rejects(
    () => spawnService(["--hang"], { script: STUB, timeoutMs: 1_000 }),
    (error: Error) =>
      /CPU used \d+\.\d\d s; load average \d/.test(error.message) &&
      error.message.includes("--- stderr"),
  );
});

Deno.test("fixture upstream: validators on demand, 304 to matching conditionals, bytes counted", async () => {
  await using upstream = startFixtureUpstream();
  const plain = await fetch(`${upstream.url}/posts/1`);
  const text = await plain.text();
  assert.equal(plain.headers.get("etag"), null);
  assert.equal(plain.headers.get("last-modified"), null);
  assert.equal(upstream.bodyBytesSent, new TextEncoder().encode(text).length);
  assert.ok(upstream.wireBytesSent > upstream.bodyBytesSent);

  upstream.setValidators({ etag: true, lastModified: true });
  const tagged = await fetch(`${upstream.url}/posts/1`);
  await tagged.body?.cancel();
  // Express's weak tag, as the npm jsonplaceholder sends for the same body.
  const etag = tagged.headers.get("etag")!;
  assert.equal(etag, 'W/"124-yiKdLzqO5gfBrJFrcdJ8Yq0LGnU"');
  const lastModified = tagged.headers.get("last-modified")!;
  upstream.resetHits();
  for (
    const headers of [
      { "if-none-match": etag },
      { "if-none-match": `"other", ${etag.slice(2)}` },
      { "if-modified-since": lastModified },
    ]
  ) {
    const res = await fetch(`${upstream.url}/posts/1`, { headers });
    assert.equal(res.status, 304, JSON.stringify(headers));
    assert.equal(res.headers.get("etag"), etag);
    await res.body?.cancel();
  }
  assert.equal(upstream.bodyBytesSent, 0);
  // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
  const mismatch = await fetch(`${upstream.url}/posts/1`, {
    headers: { "if-none-match": '"other"', "if-modified-since": lastModified },
  });
  assert.equal(mismatch.status, 200);
  await mismatch.body?.cancel();
  // A body changed by a fault: a new tag, a later date, 200 again.
  upstream.setFault("/posts/1", { body: '{"id":1}' });
  const changed = await fetch(`${upstream.url}/posts/1`, {
    headers: { "if-modified-since": lastModified },
  });
  assert.equal(await changed.text(), '{"id":1}');
  assert.notEqual(changed.headers.get("etag"), etag);
  assert.ok(
    Date.parse(changed.headers.get("last-modified")!) >
      Date.parse(lastModified),
  );
  upstream.setValidators({});
  const off = await fetch(`${upstream.url}/posts/1`, {
    headers: { "if-none-match": "*" },
  });
  assert.equal(off.status, 200);
  assert.equal(off.headers.get("etag"), null);
  await off.body?.cancel();
});
