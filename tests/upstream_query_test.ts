/**
 * Queries json-server cannot answer as JSON, in front of the real
 * JSONPlaceholder: a `_like` value that is no regular expression made it
 * answer 500 (a 502 here, logged as an error, and five of them opened the
 * circuit breaker for every client: `/posts/7` answered 503), and
 * `callback` made it answer JSONP (a 502 logged as an error). Both are the
 * client's mistake: 400 problem+json, the upstream not asked. And a query
 * of a few thousand keys (23 KB), which json-server refused with 431 (a
 * 502 logged as an error): 414 past `MAX_UPSTREAM_TARGET`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseExposition } from "./fixtures/exposition.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";
import {
  backtracksBadly,
  MAX_UPSTREAM_TARGET,
  parsedName,
} from "../routes/jsonplaceholder/upstream_query.ts";
import { MAX_RELATIONS } from "../routes/jsonplaceholder/read_schemas.ts";

Deno.test("a _like that is no regular expression, and callback, get 400 and leave the breaker closed", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const refused = [
    "/posts?title_like=(",
    "/posts?title_like=%5B",
    "/posts?title_like=*",
    "/posts?userId_like=1&userId_like=(",
    "/users/1/posts?body_like=%5C",
    "/posts?callback=alert",
    "/posts/1?callback=jQuery123_456",
    "/comments?postId=1&callback=x",
  ];
  // More than the breaker's threshold (5) of each kind.
  for (const target of [...refused, ...refused]) {
    const res = await fetch(`${service.url}${target}`);
    assert.equal(res.status, 400, target);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const problem = await res.json();
    assert.equal(problem.title, "Invalid query parameter", target);
    assert.equal(problem.instance, target.split("?")[0]);
  }
  // The upstream is still asked, and answers, for everyone else.
  const item = await fetch(`${service.url}/posts/7`);
  assert.equal(item.status, 200);
  assert.equal((await item.json()).id, 7);
  // A good _like, and an _ne filter whose name also holds _like (json-server
  // reads it as _ne, compiling nothing), pass on as before.
  const like = await fetch(`${service.url}/posts?title_like=%5Equi`);
  assert.equal(like.status, 200);
  const titles = (await like.json()).map((p: { title: string }) => p.title);
  assert.ok(titles.length > 0 && titles.every((t: string) => /^qui/.test(t)));
  const ne = await fetch(`${service.url}/posts?title_ne_like=(&userId=1`);
  assert.equal(ne.status, 200);
  assert.equal((await ne.json()).length, 10);
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, /^upstream_breaker_state 0$/m);
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});

Deno.test("a path and query longer than MAX_UPSTREAM_TARGET gets 414, one at the limit passes on", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const keys = (n: number) =>
    Array.from({ length: n }, (_, i) => `k${i}=1`).join("&");
  for (const path of ["/posts", "/posts/1", "/users/1/posts"]) {
    const res = await fetch(`${service.url}${path}?${keys(3000)}`);
    assert.equal(res.status, 414, path);
    const problem = await res.json();
    assert.equal(problem.title, "URI Too Long");
    assert.equal(problem.instance, path);
  }
  // Just at the limit, in few keys (json-server reads the first 1,000
  // parameters only, and drops those it does not know).
  const path = "/posts?userId=1&";
  const room = MAX_UPSTREAM_TARGET - path.length;
  let query = "zzzzzzzz=1";
  while (query.length + 40 <= room) query += "&k=" + "x".repeat(37);
  query += "&k=" + "x".repeat(room - query.length - 3);
  assert.equal(path.length + query.length, MAX_UPSTREAM_TARGET);
  const atLimit = await fetch(`${service.url}${path}${query}`);
  assert.equal(atLimit.status, 200);
  assert.equal((await atLimit.json()).length, 10);
  const over = await fetch(`${service.url}${path}${query}x`);
  assert.equal(over.status, 414);
  await over.body?.cancel();
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});

Deno.test("backtracksBadly: repeated groups that repeat or alternate, and back-references; not plain patterns", () => {
  for (
    const pattern of [
      "(.*)*x",
      "(a+)+$",
      "(a|aa)*b",
      "((ab)*)+",
      "(\\w+\\s?)*$",
      "(x+x+)+y",
      "(.*){2,}",
      "(?:a+)+",
      "(a)\\1",
      "(?<n>a)\\k<n>",
      "(a|b)+",
    ]
  ) {
    assert.equal(backtracksBadly(pattern), true, pattern);
  }
  for (
    const pattern of [
      "^qui",
      "sunt aut",
      "a+b*",
      "[(*+|)]+",
      "(foo)bar",
      "(ab)+",
      "(a|b)",
      "\\(a+\\)+",
      "x{2}",
      "[\\]]+",
    ]
  ) {
    assert.equal(backtracksBadly(pattern), false, pattern);
  }
});

Deno.test("backtracksBadly: repetitions in a row that can take the same characters; not ones a character parts or that take none in common", () => {
  for (
    const pattern of [
      ".*.*.*!",
      ".+.+",
      "\\D*\\D*!",
      "[a-z \\n]*[a-z \\n]*!",
      "[^!]*[^!]*!",
      ".*a?.*",
      "(.*)\\D*",
      ".*(.*)",
      "(a|.*).*",
      "\\w+\\s?\\w+",
      "[\\u00e0]*[à]*",
      // A group left open, taken a fixed number of times: `(.*){3}` is
      // `.*.*.*`, and `(a+){3}` (a plain pattern before) is `a+a+a+`.
      "(.*){3}!",
      "(a+){3}",
    ]
  ) {
    assert.equal(backtracksBadly(pattern), true, pattern);
  }
  for (
    const pattern of [
      "a.*b.*c",
      ".*x.*y.*z.*!",
      "\\s*\\S*\\s*\\S*",
      "qui.*est",
      "[a-z]+ [a-z]+",
      "^\\d+$",
      ".*",
      "\\bqui\\b.*",
      "\\.*.",
      "(ab){3}",
      "(a.*)b{2}",
    ]
  ) {
    assert.equal(backtracksBadly(pattern), false, pattern);
  }
});

Deno.test("a _like of repetitions in a row (/photos?title_like=.*.*.*!) gets 400, and the upstream is not asked", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url, "--upstream-timeout-ms", "1000"],
  });
  // Sent to json-server, the first held its one thread 7.6 s (every other
  // client's read meanwhile 504), the second 2.1 s.
  for (
    const target of [
      "/photos?title_like=.*.*.*!",
      "/comments?body_like=%5CD*%5CD*!",
    ]
  ) {
    const res = await fetch(`${service.url}${target}`);
    const problem = await res.json();
    assert.equal(res.status, 400, target);
    assert.equal(problem.title, "Invalid query parameter", target);
    assert.match(problem.detail, /repetitions in a row/, target);
  }
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /^upstream_requests_total\{[^}]*\} [1-9]/m);
  // What a character parts still passes on, answered as json-server does.
  const target = "/posts?title_like=qui.*est.*a&body_like=%5Cs*%5CS*%5Cs*";
  const [ours, theirs] = await Promise.all([
    fetch(`${service.url}${target}`),
    fetch(`${upstream.url}${target}`),
  ]);
  assert.equal(ours.status, 200);
  assert.deepEqual(await ours.json(), await theirs.json());
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});

Deno.test("_embed or _expand given more than MAX_RELATIONS times gets 400, the upstream not asked; as many pass on", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url, "--upstream-timeout-ms", "1000"],
  });
  const times = (piece: string, n: number) => Array(n).fill(piece).join("&");
  // Sent to json-server, /photos with _expand 480 times held its one
  // thread 27 s, and every other client's read meanwhile answered 504.
  for (
    const target of [
      `/photos?${times("_expand=user", 480)}`,
      `/posts?${times("_expand=user", MAX_RELATIONS)}&_expand[]=user`,
      `/users?${times("_embed=posts", MAX_RELATIONS + 1)}`,
    ]
  ) {
    const res = await fetch(`${service.url}${target}`);
    const problem = await res.json();
    assert.equal(res.status, 400, target.slice(0, 60));
    assert.match(problem.detail, /at most 8 times/, target.slice(0, 60));
  }
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /^upstream_requests_total\{[^}]*\} [1-9]/m);
  const target = `/posts?${times("_expand=user", MAX_RELATIONS)}&_limit=2`;
  const [ours, theirs] = await Promise.all([
    fetch(`${service.url}${target}`),
    fetch(`${upstream.url}${target}`),
  ]);
  assert.equal(ours.status, 200);
  assert.deepEqual(await ours.json(), await theirs.json());
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});

Deno.test("a _like that backtracks exponentially (?title_like=(.*)*x) gets 400, and json-server stays free for everyone else", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  // Sent to json-server, this held its one thread past any timeout.
  for (const value of ["(.*)*x", "(a|aa)*b", "(\\w+\\s?)*$"]) {
    const res = await fetch(
      `${service.url}/posts?title_like=${encodeURIComponent(value)}`,
    );
    assert.equal(res.status, 400, value);
    assert.equal((await res.json()).title, "Invalid query parameter");
  }
  const item = await fetch(`${service.url}/posts/9`);
  assert.equal(item.status, 200);
  assert.equal((await item.json()).id, 9);
  // The upstream was asked once, for /posts/9, and answered: none of the
  // patterns reached it (each would have held its one thread: a timeout).
  const metrics = parseExposition(
    await (await fetch(`${service.url}/metrics`)).text(),
  );
  const attempts = [...metrics].filter(([name, n]) =>
    name.startsWith("upstream_requests_total{") && n > 0
  );
  assert.deepEqual(attempts, [['upstream_requests_total{outcome="ok"}', 1]]);
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});

Deno.test("q given twice or with brackets, and _expand as an object, get 400 and leave the breaker closed; the shapes json-server reads pass on", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  // Express parses the query with qs: these make q a list or an object,
  // or an _expand name an object, and json-server calls a string method
  // on it: 500 (TypeError), each a failure for the breaker.
  const refused = [
    "/posts?q=qui&q=est",
    "/users?q%5B%5D=Bret",
    "/comments?q[a]=x",
    "/posts?%5Bq%5D=a&q=b",
    "/posts?q[=x",
    "/posts/1/comments?q=a&q=b",
    "/posts?_expand[a]=user",
    "/comments/1?_expand[0][a]=post",
  ];
  for (const target of [...refused, ...refused]) {
    const res = await fetch(`${service.url}${target}`);
    assert.equal(res.status, 400, target);
    const problem = await res.json();
    assert.equal(problem.title, "Invalid query parameter", target);
  }
  const item = await fetch(`${service.url}/posts/7`);
  assert.equal(item.status, 200);
  assert.equal((await item.json()).id, 7);
  // What json-server reads: one plain q, _expand as a name or a list.
  for (
    const target of [
      "/posts?q=qui&userId=1",
      "/posts?_expand=user&_expand%5B%5D=user&_limit=2",
      "/posts?_expand[]=user&_limit=2",
      "/posts?_embed=comments&qq=1&q_like=x&_limit=3",
    ]
  ) {
    const [ours, theirs] = await Promise.all([
      fetch(`${service.url}${target}`),
      fetch(`${upstream.url}${target}`),
    ]);
    assert.equal(ours.status, 200, target);
    assert.equal(theirs.status, 200, target);
    assert.deepEqual(await ours.json(), await theirs.json(), target);
  }
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, /^upstream_breaker_state 0$/m);
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});

Deno.test("parsedName: the name qs files a parameter under", () => {
  const cases: [string, string][] = [
    ["q", "q"],
    ["q[]", "q"],
    ["q[a][b]", "q"],
    ["q[", "q"],
    ["[q]", "q"],
    ["[q][x]", "q"],
    ["[[q]]", "[q]"],
    ["qq", "qq"],
    ["_expand[0]", "_expand"],
    ["[", "["],
  ];
  for (const [name, parsed] of cases) {
    assert.equal(parsedName(name), parsed, name);
  }
});
