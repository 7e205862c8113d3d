/**
 * Every JSONPlaceholder read and write through a client generated from
 * the served `/openapi.json` (`openapi-typescript` + `openapi-fetch`, as
 * `fixtures/generated_client.ts` makes it) against the real JSONPlaceholder:
 * each call typed (`deno check` holds its path, parameters and body
 * against the generated types; a post's `_embed=foo`, which json-server
 * answered outside the post's schema, and a query of the summary, which it
 * ignored, are type errors), and each answer as the client saw it checked
 * against the document (`answerErrors`: status, media type, body schema,
 * headers).
 *
 * Needs `deno install` (npm:openapi-typescript, npm:openapi-fetch,
 * npm:jsonplaceholder) and Node on PATH.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RESOURCES } from "../routes/jsonplaceholder/resources.ts";
import type { OpenApiDocument } from "../routes/openapi.ts";
import { runGeneratedClient } from "./fixtures/generated_client.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import {
  answerErrors,
  operationsOf,
  type SeenAnswer,
} from "./fixtures/openapi_checks.ts";
import { serveApp } from "./fixtures/served_app.ts";

/** The client program: one typed call of each read and write, and more. */
const PROGRAM = `
import createClient from "openapi-fetch";
import type { paths } from "./schema.d.ts";

const client = createClient<paths>({ baseUrl: Deno.args[0]! });
type Answer = { response: Response; data?: unknown; error?: unknown };
const answers: unknown[] = [];
// Each answer as the client saw it: status, headers and parsed body (a
// 304's or a HEAD's empty one is none).
const seen = async (path: string, method: string, call: Promise<Answer>) => {
  const { response, data, error } = await call;
  const body = data ?? (error === "" ? undefined : error);
  answers.push([path, method, {
    status: response.status,
    headers: [...response.headers],
    ...(body === undefined ? {} : { body }),
  }]);
};
const id = { params: { path: { id: 1 } } };
const missing = { params: { path: { id: 9999 } } };
await seen("/posts", "get", client.GET("/posts", { params: { query: { _embed: ["comments"], _expand: ["user"], _limit: 2 } } }));
await seen("/posts/{id}", "get", client.GET("/posts/{id}", id));
await seen("/posts/{id}", "get", client.GET("/posts/{id}", missing));
await seen("/comments", "get", client.GET("/comments", { params: { query: { postId: 1, _expand: ["post"] } } }));
await seen("/comments/{id}", "get", client.GET("/comments/{id}", id));
await seen("/albums", "get", client.GET("/albums", { params: { query: { _embed: ["photos"], _page: 1, _limit: 2 } } }));
await seen("/albums/{id}", "get", client.GET("/albums/{id}", id));
await seen("/photos", "get", client.GET("/photos", { params: { query: { albumId: 1, _limit: 3 } } }));
await seen("/photos/{id}", "get", client.GET("/photos/{id}", id));
await seen("/todos", "get", client.GET("/todos", { params: { query: { completed: true, _limit: 3 } } }));
await seen("/todos/{id}", "get", client.GET("/todos/{id}", id));
await seen("/users", "get", client.GET("/users", { params: { query: { _embed: ["posts", "todos", "albums"] } } }));
await seen("/users/{id}", "get", client.GET("/users/{id}", id));
await seen("/posts/{id}/comments", "get", client.GET("/posts/{id}/comments", id));
await seen("/albums/{id}/photos", "get", client.GET("/albums/{id}/photos", id));
await seen("/users/{id}/posts", "get", client.GET("/users/{id}/posts", id));
await seen("/users/{id}/todos", "get", client.GET("/users/{id}/todos", id));
await seen("/users/{id}/albums", "get", client.GET("/users/{id}/albums", id));
await seen("/users/{id}/summary", "get", client.GET("/users/{id}/summary", id));
await seen("/users/{id}/summary", "get", client.GET("/users/{id}/summary", missing));
await seen("/posts/{id}", "head", client.HEAD("/posts/{id}", id));
await seen("/posts/{id}", "options", client.OPTIONS("/posts/{id}", id));
await seen("/posts", "post", client.POST("/posts", { body: { title: "t", body: "b", userId: 1 } }));
await seen("/posts/{id}", "put", client.PUT("/posts/{id}", { ...id, body: { title: "t", body: "b", userId: 1 } }));
await seen("/posts/{id}", "put", client.PUT("/posts/{id}", { ...missing, body: { title: "t" } }));
await seen("/posts/{id}", "patch", client.PATCH("/posts/{id}", { ...id, body: { title: "t" } }));
await seen("/posts/{id}", "delete", client.DELETE("/posts/{id}", id));
await seen("/comments", "post", client.POST("/comments", { body: { postId: 1, name: "n", email: "e@x", body: "b" } }));
await seen("/comments/{id}", "put", client.PUT("/comments/{id}", { ...id, body: { name: "n" } }));
await seen("/comments/{id}", "patch", client.PATCH("/comments/{id}", { ...id, body: { email: "a@b" } }));
await seen("/comments/{id}", "delete", client.DELETE("/comments/{id}", id));
await seen("/albums", "post", client.POST("/albums", { body: { title: "t", userId: 1 } }));
await seen("/albums/{id}", "put", client.PUT("/albums/{id}", { ...id, body: { title: "t" } }));
await seen("/albums/{id}", "patch", client.PATCH("/albums/{id}", { ...id, body: { title: "t" } }));
await seen("/albums/{id}", "delete", client.DELETE("/albums/{id}", id));
await seen("/photos", "post", client.POST("/photos", { body: { albumId: 1, title: "t", url: "https://x/1", thumbnailUrl: "https://x/2" } }));
await seen("/photos/{id}", "put", client.PUT("/photos/{id}", { ...id, body: { title: "t" } }));
await seen("/photos/{id}", "patch", client.PATCH("/photos/{id}", { ...id, body: { title: "t" } }));
await seen("/photos/{id}", "delete", client.DELETE("/photos/{id}", id));
await seen("/todos", "post", client.POST("/todos", { body: { title: "t", completed: false, userId: 1 } }));
await seen("/todos/{id}", "put", client.PUT("/todos/{id}", { ...id, body: { completed: true } }));
await seen("/todos/{id}", "patch", client.PATCH("/todos/{id}", { ...id, body: { completed: true } }));
await seen("/todos/{id}", "delete", client.DELETE("/todos/{id}", id));
await seen("/users", "post", client.POST("/users", { body: { name: "n", username: "u", email: "e@x" } }));
await seen("/users/{id}", "put", client.PUT("/users/{id}", { ...id, body: { name: "n" } }));
await seen("/users/{id}", "patch", client.PATCH("/users/{id}", { ...id, body: { website: "w" } }));
await seen("/users/{id}", "delete", client.DELETE("/users/{id}", id));
await seen("/users/{id}", "delete", client.DELETE("/users/{id}", missing));
await seen("/posts/{id}/comments", "post", client.POST("/posts/{id}/comments", { ...id, body: { name: "n", email: "e@x", body: "b" } }));
await seen("/albums/{id}/photos", "post", client.POST("/albums/{id}/photos", { ...id, body: { title: "t", url: "https://x/1", thumbnailUrl: "https://x/2" } }));
await seen("/users/{id}/posts", "post", client.POST("/users/{id}/posts", { ...id, body: { title: "t", body: "b" } }));
await seen("/users/{id}/todos", "post", client.POST("/users/{id}/todos", { ...id, body: { title: "t", completed: false } }));
await seen("/users/{id}/albums", "post", client.POST("/users/{id}/albums", { ...id, body: { title: "t" } }));
// A post embeds its comments only: json-server added \`foo: []\`, which
// the post's schema has not (never called: the type check is the test).
const unembeddable = () =>
  client.GET("/posts/{id}", {
    // @ts-expect-error: _embed names the post's children.
    params: { path: { id: 1 }, query: { _embed: ["foo"] } },
  });
const queried = () =>
  client.GET("/users/{id}/summary", {
    // @ts-expect-error: the summary takes no query.
    params: { path: { id: 1 }, query: { _limit: 5 } },
  });
console.log(JSON.stringify({ answers, unused: [typeof unembeddable, typeof queried] }));
`;

Deno.test("a generated client's typed call of every JSONPlaceholder read and write gets an answer the document declares", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${service.url}/openapi.json`))
    .json() as OpenApiDocument;
  const { answers } = await runGeneratedClient(service.url, PROGRAM) as {
    answers: [string, string, SeenAnswer][];
  };
  for (const [path, method, seen] of answers) {
    const where = `${method.toUpperCase()} ${path} -> ${seen.status}`;
    assert.deepEqual(answerErrors(doc, [path, method], seen), [], where);
  }
  // Every read and write of the resources was called.
  const called = new Set(answers.map(([path, method]) => `${method} ${path}`));
  const operations = operationsOf(doc).filter(([, method, op]) =>
    !["head", "options"].includes(method) &&
    op.tags.some((tag) => (RESOURCES as readonly string[]).includes(tag))
  );
  assert.ok(operations.length >= 47, `${operations.length} operations`);
  for (const [path, method] of operations) {
    assert.ok(called.has(`${method} ${path}`), `${method} ${path} not called`);
  }
  // Not vacuous: successes, 404s and refusals among them.
  const statuses = new Set(answers.map(([, , seen]) => seen.status));
  for (const status of [200, 201, 204, 400, 404]) {
    assert.ok(statuses.has(status), `no ${status}`);
  }
});
