/**
 * The request target (`services/http/request_target.ts`): `plainTarget`
 * reads a path and query as `URL` does (checked on 100,000 generated paths),
 * and the origin and `Host` checks of RFC 9112 3.2.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  originOf,
  plainTarget,
  servedHost,
  servedOrigin,
} from "../services/http/request_target.ts";

Deno.test("plainTarget reads a plain URL's path and query as URL does, and leaves the rest to URL", () => {
  assert.deepEqual(plainTarget("http://127.0.0.1:8000/posts/1"), [
    "/posts/1",
    "",
  ]);
  assert.deepEqual(plainTarget("http://h/posts?userId=1&_limit=2"), [
    "/posts",
    "?userId=1&_limit=2",
  ]);
  assert.deepEqual(plainTarget("http://h/?"), ["/", ""]);
  assert.deepEqual(plainTarget("http://[::1]:80/p?q=/./x"), ["/p", "?q=/./x"]);
  // URL normalises these: left to it.
  for (
    const url of [
      "http://h/a/./b",
      "http://h/a/../b",
      "http://h/a/..",
      "http://h/a/%2e%2e/b",
      "http://h/a b",
      "http://h/a?b'c",
      "http://h/a\\b",
      "http://h/a{b}",
      "http://h/p?q#f",
      "http://h/ü",
    ]
  ) {
    assert.equal(plainTarget(url), undefined, url);
  }
});

Deno.test("plainTarget leaves a URL whose host URL cannot parse to URL (the runtime builds it from Host unchecked)", () => {
  for (
    const host of ["a>b", "a b", "a|b", "1.2.3.999", "xn--a", "h:99999", "[zz]"]
  ) {
    const url = `http://${host}/posts?x=1`;
    assert.equal(URL.canParse(url), false, url);
    assert.equal(plainTarget(url), undefined, url);
  }
  // A good host after a bad one is plain again, and the other way round.
  assert.deepEqual(plainTarget("http://h:1/p"), ["/p", ""]);
  assert.equal(plainTarget("http://h:1>/p"), undefined);
  assert.deepEqual(plainTarget("http://h:1/p"), ["/p", ""]);
});

Deno.test("plainTarget agrees with URL on 100,000 generated paths", () => {
  const alphabet = "ab/.?%~-_!$&'()*+,;=:@ #\\\"<>{}|^`";
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let plain = 0;
  for (let i = 0; i < 100_000; i++) {
    let path = "/";
    const length = Math.floor(next() * 10);
    for (let j = 0; j < length; j++) {
      path += alphabet[Math.floor(next() * alphabet.length)];
    }
    const href = `http://h${path}`;
    const found = plainTarget(href);
    if (found === undefined) continue;
    plain++;
    const url = new URL(href);
    assert.deepEqual(found, [url.pathname, url.search], href);
  }
  // Enough of them were read without URL for the comparison to count.
  assert.ok(plain > 10_000, `${plain} plain`);
});

Deno.test("servedOrigin takes an http(s) scheme and a host and port only, as RFC 9112 3.2 asks of Host", () => {
  for (
    const origin of [
      "http://h",
      "http://h.example:8000",
      "http://a:",
      "http://A.EXAMPLE:080",
      "http://[::1]:8000",
      "https://h",
      "http://a,b",
    ]
  ) {
    assert.equal(servedOrigin(origin), true, origin);
  }
  for (
    const origin of [
      "http://u:p@h",
      "http://u@h",
      "http://a?b",
      "http://a#b",
      "http://a\\b",
      "http://a>b",
      "http://h:99999",
      "ftp://h",
      "ws://h",
      "http://",
    ]
  ) {
    assert.equal(servedOrigin(origin), false, origin);
    // Nor is a URL on it plain: it is parsed, and refused.
    assert.equal(plainTarget(`${origin}/posts`), undefined, origin);
  }
});

Deno.test("originOf ends at the path, or at the query of a target without a path", () => {
  assert.equal(originOf("http://h:8000/posts?x=1"), "http://h:8000");
  assert.equal(originOf("http://h?x=1/y"), "http://h");
  assert.equal(originOf("http://h"), "http://h");
  assert.equal(originOf("http://u:p@h/p"), "http://u:p@h");
  assert.equal(originOf("http://a#b/p"), "http://a#b");
});

Deno.test("servedHost takes a host and port, or none, and nothing URL would read more into", () => {
  for (
    const host of [null, "", "h", "h.example:8000", "[::1]:8000", "a:", "A:80"]
  ) {
    assert.equal(servedHost(host), true, String(host));
  }
  for (
    const host of [
      "a/b",
      "a?b",
      "a?",
      "a/",
      "a#b",
      "u:p@a",
      "a\\b",
      "a>b",
      "h:99999",
    ]
  ) {
    assert.equal(servedHost(host), false, host);
  }
});

Deno.test("plainTarget answers a URL asked again (it remembers the last) as it did the first time", () => {
  const urls = [
    "http://h/posts/1",
    "http://h/posts/1",
    "http://h/posts/1?x=1",
    "http://h/posts/%41",
    "http://h/posts/1",
    "http://h/posts/./1",
    "http://h/posts/./1",
    "http://a>b/posts/1",
    "http://h/posts/1",
  ];
  for (const url of urls) {
    const parsed = URL.parse(url);
    const expected = parsed === null || url.includes("%") || url.includes("/.")
      ? undefined
      : [parsed.pathname, parsed.search];
    assert.deepEqual(plainTarget(url), expected, url);
  }
});
