import assert from "node:assert/strict";
import { plainTarget } from "../services/http/request_target.ts";

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
