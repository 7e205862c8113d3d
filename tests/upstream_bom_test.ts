/**
 * An upstream whose JSON starts with a UTF-8 byte order mark (EF BB BF),
 * which RFC 8259 8.1 forbids sending. The JSON check took it (TextDecoder
 * drops a leading BOM) but the bytes were stored and passed on as they
 * came: a summary joined its parts' bytes into `{"user":\uFEFF{...`
 * (Python's `json.load`, jq and JSON.parse refuse it), and an item or list
 * began with it (Node's `JSON.parse(readFileSync(0, "utf8"))` and Python's
 * `json.loads` of the text refuse that). Now the mark is dropped when the
 * answer is checked: every answer is plain UTF-8 JSON, its `ETag` that of
 * those bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { etagOf } from "../services/http/etag.ts";

// Keeps a BOM in the text, so JSON.parse refuses it as strict parsers do.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `bytes` parsed as strict parsers read JSON: a BOM anywhere is an error. */
function strictJson(bytes: Uint8Array, what: string): unknown {
  assert.notDeepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], what);
  return JSON.parse(strict.decode(bytes));
}

const PATHS = [
  "/users/1",
  "/users/1/posts",
  "/users/1/todos",
  "/users/1/albums",
  "/posts/1",
  "/posts",
];

Deno.test("an upstream answering JSON with a BOM: items, lists and the summary are plain JSON", async () => {
  await using upstream = startFixtureUpstream();
  for (const path of PATHS) {
    const text = await (await fetch(upstream.url + path)).text();
    upstream.setFault(path, { body: `\uFEFF${text}` });
  }
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (const path of [...PATHS, "/users/1/summary"]) {
    const res = await t.get(path, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(res.status, 200, path);
    const bytes = await res.bytes();
    strictJson(bytes, path);
    const etag = res.headers.get("etag")!;
    if (path !== "/users/1/summary") assert.equal(etag, await etagOf(bytes));
    const again = await t.get(path, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304, path);
  }
  const summary = strictJson(
    await (await t.get("/users/1/summary")).bytes(),
    "summary",
  ) as Record<string, unknown[]>;
  assert.equal(summary.posts!.length, 10);
  assert.deepEqual(summary.errors, []);
});

Deno.test("an upstream answering two BOMs: 502, as any text before the JSON", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { body: '\uFEFF\uFEFF{"id":1}' });
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--upstream-retries",
    "0",
  ]);
  const res = await t.get("/posts/1");
  // Before: 200, the second mark kept at the head of the stored bytes.
  assert.equal(res.status, 502);
  assert.match(await res.text(), /malformed JSON/);
});

Deno.test("a write answered with a BOM is passed on as plain JSON", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts", {
    status: 201,
    body: '\uFEFF{"id":101,"userId":1,"title":"t","body":"b"}',
  });
  await using t = await testApp(["--upstream-url", upstream.url]);
  const res = await t.get("/posts", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: 1, title: "t", body: "b" }),
  });
  assert.equal(res.status, 201);
  assert.deepEqual(strictJson(await res.bytes(), "write"), {
    id: 101,
    userId: 1,
    title: "t",
    body: "b",
  });
});
