/**
 * A write whose JSON nests thousands of levels deep, in front of the real
 * JSONPlaceholder: json-server parsed it, then failed to serialise its
 * answer (RangeError: Maximum call stack size exceeded), a 500 whose HTML
 * stack came back to the client, and five of them opened the circuit
 * breaker, so every client got 503 for the cooldown. A body deeper than
 * `MAX_JSON_DEPTH` is now 400 Invalid JSON body, the upstream not asked;
 * one at the limit passes on as before. Also the depth count itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { jsonDepth } from "../services/http/json_depth.ts";
import { MAX_JSON_DEPTH } from "../routes/jsonplaceholder/write_body.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

const nested = (levels: number) =>
  `{"title":"deep","a":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}`;

Deno.test("jsonDepth counts arrays and objects, not brackets in strings", () => {
  const depth = (text: string) => jsonDepth(new TextEncoder().encode(text));
  assert.equal(depth("1"), 0);
  assert.equal(depth('"[[{"'), 0);
  assert.equal(depth("{}"), 1);
  assert.equal(depth('{"a":[1,{"b":"[["}]}'), 3);
  assert.equal(depth('{"a":"\\"[","b":[[]]}'), 3);
  assert.equal(depth('[[],[[]],{"x":{}}]'), 3);
  assert.equal(depth(nested(6000)), 6000);
});

Deno.test("a write nested deeper than MAX_JSON_DEPTH gets 400 and leaves the breaker closed", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const send = (method: string, path: string, body: string) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body,
    });
  // More than the breaker's threshold (5), on every write method.
  for (const [method, path] of [["POST", "/posts"], ["PUT", "/posts/1"]]) {
    for (const levels of [MAX_JSON_DEPTH + 1, 6000, 6000]) {
      const res = await send(method!, path!, nested(levels));
      assert.equal(res.status, 400, `${method} ${levels}`);
      const problem = await res.json();
      assert.equal(problem.title, "Invalid JSON body");
      assert.match(problem.detail, new RegExp(`nests ${levels} levels`));
    }
  }
  const patched = await send("PATCH", "/posts/1", nested(6000));
  assert.equal(patched.status, 400);
  await patched.body?.cancel();
  // At the limit it passes on, and reads still reach the upstream.
  const created = await send("POST", "/posts", nested(MAX_JSON_DEPTH));
  assert.equal(created.status, 201);
  assert.equal((await created.json()).title, "deep");
  const item = await fetch(`${service.url}/posts/7`);
  assert.equal(item.status, 200);
  await item.body?.cancel();
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, /^upstream_breaker_state 0$/m);
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});
