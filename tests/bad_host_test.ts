/**
 * A `Host` that is no host (`a>b`, `1.2.3.999`): the runtime builds the
 * request's URL from it unchecked, and reading that URL threw, a 500 logged
 * as an error with its stack for every such request. It is the client's
 * mistake: 400 (RFC 9112 3.2), as problem+json, logged as a request line.
 * So is a `Host` that URL reads as more than a host and port (userinfo, a
 * path, a query), and an absolute-form target with userinfo or a scheme
 * other than http(s).
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

/**
 * Sends `GET target` with `Host: host` (and `more` header lines) over a raw
 * socket; the answer.
 */
async function rawGet(url: string, target: string, host: string, more = "") {
  const conn = await Deno.connect({ port: Number(new URL(url).port) });
  try {
    await conn.write(new TextEncoder().encode(
      `GET ${target} HTTP/1.1\r\nhost: ${host}\r\n${more}connection: close\r\n\r\n`,
    ));
    const text = new TextDecoder().decode(
      await new Response(conn.readable).arrayBuffer(),
    );
    const [head, body] = text.split("\r\n\r\n");
    return { status: Number(head!.split(" ")[1]), head: head!, body: body! };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by reading to the end
    }
  }
}

Deno.test("a Host that is no host gets 400 problem+json on every route, never a 500 or an error log", async () => {
  await using served = await serveApp({});
  const targets = ["/posts?x=1", "/posts/1", "/posts/%41", "/files?limit=1"];
  for (const host of ["a>b", "a b", "1.2.3.999", "h:99999"]) {
    for (const target of targets) {
      const answer = await rawGet(served.url, target, host);
      assert.equal(answer.status, 400, `${host} ${target}`);
      assert.match(answer.head, /content-type: application\/problem\+json/i);
      const problem = JSON.parse(answer.body);
      assert.equal(problem.status, 400);
      assert.equal(problem.instance, target.split("?")[0]);
    }
  }
  // A good Host is served as before.
  const good = await rawGet(served.url, "/openapi.json", "localhost:1");
  assert.equal(good.status, 200);
  assert.deepEqual(
    served.records.filter((r) => r.level === "error" || r.level === "warn"),
    [],
  );
  assert.equal(
    served.records.filter((r) => r.msg === "request" && r.status === 400)
      .length,
    16,
  );
});

Deno.test("a Host with userinfo, a fragment or a backslash gets 400, never a Link on it or another route", async () => {
  await using served = await serveApp({});
  // The runtime appends the target to the Host as it came: `Host: u:p@a`
  // put the credentials into every Link of a paged list.
  for (const host of ["u:p@a", "a#b", "a\\b", "a:1@b"]) {
    for (const target of ["/posts?_page=2&_limit=3", "/openapi.json"]) {
      const answer = await rawGet(served.url, target, host);
      assert.equal(answer.status, 400, `${host} ${target}`);
      assert.match(answer.head, /content-type: application\/problem\+json/i);
      assert.doesNotMatch(answer.head, /^link:/im);
    }
  }
  assert.deepEqual(
    served.records.filter((r) => r.level === "error" || r.level === "warn"),
    [],
  );
});

Deno.test("a Host with a path or a query gets 400, though the runtime's URL reads like an absolute-form target on its host", async () => {
  await using served = await serveApp({});
  // `Host: a/posts` with `GET /1` made the URL `http://a/posts/1`, which
  // is also the URL of the absolute-form target `http://a/posts/1`: it was
  // served as /posts/1, its Links on `http://a`. Only the Host tells.
  const cases = [
    ["a/posts", "/1"],
    ["a/b", "/openapi.json"],
    ["a?b", "/openapi.json"],
    ["a?", "/posts?_page=2&_limit=3"],
    ["localhost:1/", "/openapi.json"],
  ];
  for (const [host, target] of cases) {
    const answer = await rawGet(served.url, target!, host!);
    assert.equal(answer.status, 400, `${host} ${target}`);
    assert.match(answer.head, /content-type: application\/problem\+json/i);
    assert.doesNotMatch(answer.head, /^link:/im);
  }
  // Nor does an absolute-form target make such a Host good (RFC 9112 3.2:
  // 400 for a Host with an invalid value, whatever the target's form).
  const absolute = await rawGet(served.url, "http://a/posts/1", "a/posts");
  assert.equal(absolute.status, 400);
  // The same URLs with a good Host are served.
  const good = await rawGet(served.url, "http://a/openapi.json", "a");
  assert.equal(good.status, 200);
  const plain = await rawGet(served.url, "/openapi.json", "localhost:1");
  assert.equal(plain.status, 200);
  assert.deepEqual(
    served.records.filter((r) => r.level === "error" || r.level === "warn"),
    [],
  );
});

Deno.test("an absolute-form target names the host (Host ignored, RFC 9112 3.2.2); with userinfo or another scheme it is a 400", async () => {
  await using served = await serveApp({});
  const good = await rawGet(
    served.url,
    "http://h.example/openapi.json",
    "other.example",
  );
  assert.equal(good.status, 200);
  // A Host that is no host is a 400 whatever the target (RFC 9112 3.2).
  const bad = await rawGet(served.url, "http://h.example/openapi.json", "a>b");
  assert.equal(bad.status, 400);
  // No path, a query: the path is "/" (RFC 9110 4.2.3).
  const query = await rawGet(served.url, "http://h.example?x=1", "a");
  assert.equal(query.status, 200);
  assert.deepEqual(JSON.parse(query.body), { Hello: "World" });
  for (
    const target of [
      "http://u:p@h.example/openapi.json",
      "ftp://h.example/openapi.json",
      "http://h.example:99999/openapi.json",
    ]
  ) {
    const answer = await rawGet(served.url, target, "h.example");
    assert.equal(answer.status, 400, target);
    assert.equal(JSON.parse(answer.body).instance, "/openapi.json", target);
  }
});

Deno.test("a bad Host with a target starting // gets the 400 with CORS headers, not a 500 from the server's fallback", async () => {
  await using served = await serveApp({});
  // The path of the 400 was read as a URL relative to a placeholder host:
  // `//a>b/` is then a host of its own, the read threw past the pipeline,
  // and the server's last-resort 500 went out, without CORS headers.
  for (const target of ["//a>b/", "//x:99999/posts", "//"]) {
    const answer = await rawGet(
      served.url,
      target,
      "c>d",
      "origin: http://localhost:5173\r\n",
    );
    assert.equal(answer.status, 400, target);
    assert.match(answer.head, /^access-control-allow-origin: \*/im);
    assert.match(answer.head, /^vary: .*Origin/im);
    assert.equal(JSON.parse(answer.body).instance.startsWith("//"), true);
  }
  assert.deepEqual(
    served.records.filter((r) => r.level === "error" || r.level === "warn"),
    [],
  );
});
