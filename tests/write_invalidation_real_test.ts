/**
 * What a write makes stale, against JSONPlaceholder's own json-server and
 * data keeping what is written (`startJsonPlaceholder({ keepWrites })`):
 * each read cached before a write answers, after it, what the upstream
 * answers then.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";

const JSON_HEADERS = { "content-type": "application/json" };

Deno.test("a write drops the cached lists that embed or expand what it wrote, whatever the bracket form of _embed and _expand json-server reads", async () => {
  await using upstream = await startJsonPlaceholder({ keepWrites: true });
  await using t = await testApp(["--upstream-url", upstream.url]);
  const read = async (path: string) => {
    const res = await t.get(path);
    assert.equal(res.status, 200, path);
    return await res.json();
  };
  // Each read names `_embed` or `_expand` as Express's qs files it; only
  // that parameter ties it to what is written.
  const cases = [
    ["POST", "/posts/1/comments", { name: "n", body: "b" }, [
      "/posts?id=1&_embed=comments",
      "/posts?id=1&_embed[]=comments",
      "/posts?id=1&_embed%5B%5D=comments",
      "/posts?id=1&[_embed]=comments",
      "/users/1/posts?id=1&_embed[]=comments",
    ]],
    ["PATCH", "/posts/1", { title: "changed" }, [
      "/comments/2?_expand=post",
      "/comments/2?_expand[]=post",
      "/comments/3?_expand%5B%5D=post",
      "/posts/1/comments?_expand[]=post",
    ]],
  ] as const;
  for (const [method, path, body, reads] of cases) {
    for (const cached of reads) await read(cached);
    const res = await t.get(path, {
      method,
      body: JSON.stringify(body),
      headers: JSON_HEADERS,
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    await res.body?.cancel();
    for (const cached of reads) {
      const theirs = await (await fetch(upstream.url + cached)).json();
      assert.deepEqual(await read(cached), theirs, `${cached} after ${method}`);
    }
  }
});
