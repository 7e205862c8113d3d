/**
 * A write's body is held to the schema `/openapi.json` declares for it
 * (`PostInput`, `TodoInput`, ...). Prism (`prism proxy --errors`) in front
 * of the service refused `PATCH /todos/2` with `{"title":12345}`, and the
 * service passed it on: the real JSONPlaceholder (npm `jsonplaceholder`,
 * json-server) kept the number, and every later read of the todo, and the
 * answer to the next valid `PATCH`, broke the `Todo` schema a validating
 * client holds it to. A field of another type is 400 now, nothing sent.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { OpenApiDocument } from "../routes/openapi.ts";
import { validate } from "./fixtures/openapi_checks.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

const JSON_BODY = { "content-type": "application/json" };

/**
 * Writes whose body breaks its `<Name>Input`: method, path, body, the
 * field the 400 names, and the item read after it with its schema.
 */
const OFF_SCHEMA: [string, string, unknown, string, [string, string]?][] = [
  ["PATCH", "/todos/2", { title: 12345 }, "title", ["/todos/2", "Todo"]],
  ["PATCH", "/todos/3", { completed: "yes" }, "completed", [
    "/todos/3",
    "Todo",
  ]],
  ["PUT", "/albums/1", { userId: 1, title: ["x"] }, "title", [
    "/albums/1",
    "Album",
  ]],
  ["PATCH", "/photos/1", { url: 7 }, "url", ["/photos/1", "Photo"]],
  ["PATCH", "/users/1", { address: { city: "x" } }, "address", [
    "/users/1",
    "User",
  ]],
  ["PATCH", "/posts/1", { userId: "1" }, "userId", ["/posts/1", "Post"]],
  ["POST", "/posts", { title: 5, body: "b", userId: 1 }, "title"],
  ["POST", "/posts/1/comments", { email: "no" }, "email"],
];

Deno.test("a write whose fields are not of their declared types is 400, and the item stays as the document says", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  for (const [method, path, body, field, read] of OFF_SCHEMA) {
    const what = `${method} ${path} ${JSON.stringify(body)}`;
    const res = await fetch(served.url + path, {
      method,
      headers: JSON_BODY,
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 400, what);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const problem = await res.json();
    assert.match(problem.detail, /Input of \/openapi\.json/, what);
    assert.match(problem.detail, new RegExp(`\\b${field}\\b`), what);
    assert.deepEqual(
      validate(doc, { $ref: "#/components/schemas/Problem" }, problem),
      [],
    );
    if (read === undefined) continue;
    const [target, schema] = read;
    const item = await (await fetch(served.url + target)).json();
    assert.deepEqual(
      validate(doc, { $ref: `#/components/schemas/${schema}` }, item),
      [],
      `${what}, then GET ${target}`,
    );
  }
  // Nothing of them reached the upstream.
  const todo = await (await fetch(`${upstream.url}/todos/2`)).json();
  assert.equal(typeof todo.title, "string");
});

Deno.test("a write of the declared types passes, fields the schema does not name too", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  const cases: [string, string, unknown, number, string][] = [
    [
      "PATCH",
      "/todos/2",
      { title: "t", completed: true, tag: [1] },
      200,
      "TodoWritten",
    ],
    [
      "PUT",
      "/posts/1",
      { userId: 1, title: "t", body: "b", id: 1 },
      200,
      "PostWritten",
    ],
    [
      "POST",
      "/users",
      { name: "n", email: "n@example.com" },
      201,
      "UserWritten",
    ],
    [
      "POST",
      "/albums/1/photos",
      { title: "p", url: "https://example.com/p" },
      201,
      "PhotoWritten",
    ],
  ];
  for (const [method, path, body, status, schema] of cases) {
    const res = await fetch(served.url + path, {
      method,
      headers: JSON_BODY,
      body: JSON.stringify(body),
    });
    assert.equal(res.status, status, `${method} ${path}`);
    const written = await res.json();
    assert.deepEqual(
      validate(doc, { $ref: `#/components/schemas/${schema}` }, written),
      [],
      `${method} ${path}`,
    );
  }
});
