/**
 * json-server's relations against the served document: `_embed` and
 * `_expand` pass on to the real JSONPlaceholder (npm `jsonplaceholder`,
 * json-server 0.8), which adds the related items to an item and to every
 * item of a list; the answers must fit the schemas `/openapi.json`
 * declares for them, and the parameters must be declared where they work.
 * The items were declared closed without those properties, so
 * `prism proxy --errors` answered `GET /posts/1?_embed=comments` with its
 * own 500.
 *
 * An `_embed` of no relation (`_embed=foo` of a post, any of a todo) is a
 * 400, declared: json-server answered it with an empty list under that
 * name, outside the item's schema. And the user summary, whose parts are
 * whole lists, refuses a query (it ignored one).
 *
 * Needs `deno install` (npm:jsonplaceholder) and Node on PATH.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  OpenApiDocument,
  ParameterObject,
  ResponseObject,
} from "../routes/openapi.ts";
import { deref, validate } from "./fixtures/openapi_checks.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

/** The body of `url` and what it breaks of the 200 declared for it. */
async function readAgainst(
  doc: OpenApiDocument,
  base: string,
  [path, url]: [string, string],
): Promise<{ body: Record<string, unknown>; errors: string[] }> {
  const res = await fetch(`${base}${url}`);
  assert.equal(res.status, 200, url);
  const declared = doc.paths[path]?.get?.responses["200"];
  assert.ok(declared, `GET ${path} declares its 200`);
  const schema = deref<ResponseObject>(doc, declared)
    .content?.["application/json"]?.schema;
  assert.ok(schema, `GET ${path} declares its JSON`);
  const body = await res.json();
  const errors = validate(doc, schema as Record<string, unknown>, body);
  return { body: Array.isArray(body) ? body[0] : body, errors };
}

Deno.test("answers with _embed and _expand fit the document, which declares both", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  const reads: [path: string, url: string, added: Record<string, string>][] = [
    ["/posts/{id}", "/posts/1?_embed=comments&_expand=user", {
      comments: "array",
      user: "object",
    }],
    ["/posts", "/posts?_embed=comments&_expand=user&_limit=2", {
      comments: "array",
      user: "object",
    }],
    ["/users/{id}", "/users/1?_embed=posts&_embed=todos&_embed=albums", {
      posts: "array",
      todos: "array",
      albums: "array",
    }],
    ["/albums/{id}", "/albums/1?_embed=photos&_expand=user", {
      photos: "array",
      user: "object",
    }],
    ["/comments/{id}", "/comments/1?_expand=post", { post: "object" }],
    ["/photos/{id}", "/photos/1?_expand=album", { album: "object" }],
    ["/todos", "/todos?_expand=user&_limit=1", { user: "object" }],
    ["/posts/{id}/comments", "/posts/1/comments?_expand=post", {
      post: "object",
    }],
    ["/users/{id}/posts", "/users/1/posts?_embed=comments&_limit=1", {
      comments: "array",
    }],
  ];
  for (const [path, url, added] of reads) {
    const { body, errors } = await readAgainst(doc, served.url, [path, url]);
    // Not vacuous: the upstream did add them.
    for (const [name, type] of Object.entries(added)) {
      const value = body[name];
      assert.equal(Array.isArray(value) ? "array" : typeof value, type, url);
    }
    assert.deepEqual(errors.slice(0, 5), [], url);
    const op = doc.paths[path]!.get!;
    const used = new URLSearchParams(url.split("?")[1]);
    for (const name of ["_embed", "_expand"]) {
      if (!used.has(name)) continue;
      const declared = (op.parameters as ParameterObject[])
        .find((p) => p.name === name);
      // A list: repeated, each adds its relation (prism refused a repeated
      // one declared as a text with 422).
      assert.equal(declared?.schema.type, "array", `${path} ${name}`);
    }
  }
  // And the check is not vacuous: an item still takes nothing undeclared.
  const post = { userId: 1, id: 1, title: "t", body: "b", extra: 1 };
  assert.notDeepEqual(
    validate(doc, { $ref: "#/components/schemas/Post" }, post),
    [],
  );
});

/**
 * The status of `url` against `path`'s `GET`: declared, and a 200's body
 * fits the schema declared for it.
 */
async function documentedAnswer(
  doc: OpenApiDocument,
  base: string,
  [path, url]: [string, string],
): Promise<{ status: number; errors: string[] }> {
  const res = await fetch(`${base}${url}`);
  const declared = doc.paths[path]?.get?.responses[String(res.status)];
  assert.ok(declared, `GET ${url} -> ${res.status} is declared`);
  const schema = deref<ResponseObject>(doc, declared)
    .content?.[(res.headers.get("content-type") ?? "").split(";")[0]!]
    ?.schema;
  assert.ok(schema, `GET ${url} -> ${res.status}: its type is declared`);
  const errors = validate(
    doc,
    schema as Record<string, unknown>,
    await res.json(),
  );
  return { status: res.status, errors };
}

Deno.test("an _embed of no relation, which json-server answers with a list the schema has not, is a documented 400", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  // json-server adds `foo: []` (`title: []` for `_embed=title`): a client
  // checking answers against the document refused these 200s.
  const reads: [path: string, url: string][] = [
    ["/posts/{id}", "/posts/1?_embed=foo"],
    ["/posts/{id}", "/posts/1?_embed[]=title"],
    ["/posts", "/posts?_embed=comments&_embed=users&_limit=2"],
    ["/todos/{id}", "/todos/1?_embed=comments"],
    ["/todos/{id}", "/todos/1?%5B_embed%5D=x"],
    ["/comments", "/comments?_embed=posts&_limit=2"],
    ["/users/{id}/todos", "/users/1/todos?_embed=posts"],
    ["/albums/{id}/photos", "/albums/1/photos?_embed%5B%5D=x"],
  ];
  for (const read of reads) {
    const { status, errors } = await documentedAnswer(doc, served.url, read);
    assert.deepEqual(errors.slice(0, 5), [], read[1]);
    assert.equal(status, 400, read[1]);
  }
  // Where nothing names the resource, the document says `_embed` is 400.
  for (const path of ["/todos", "/todos/{id}", "/users/{id}/todos"]) {
    assert.match(
      doc.paths[path]!.get!.description ?? "",
      /`_embed` is 400: no resource names a todo/,
      path,
    );
  }
  // A relation is still embedded.
  const comments = await documentedAnswer(doc, served.url, [
    "/posts/{id}",
    "/posts/1?_embed=comments",
  ]);
  assert.deepEqual(comments, { status: 200, errors: [] });
});

Deno.test("the user summary refuses a query, as its operation says, instead of ignoring it", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  const op = doc.paths["/users/{id}/summary"]!.get!;
  assert.deepEqual(
    op.parameters.filter((p) => p.in === "query").map((p) => p.name),
    [],
  );
  assert.match(op.description ?? "", /Any query parameter is 400: /);
  // It answered 200 with every post, todo and album: `_limit` looked taken.
  for (
    const query of ["_limit=5", "_embed=comments", "title=x", "_limit[]=1"]
  ) {
    const url = `/users/1/summary?${query}`;
    const res = await fetch(`${served.url}${url}`);
    assert.equal(res.status, 400, url);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const problem = await res.json();
    assert.match(problem.detail, /is not taken here: the summary's parts/);
  }
  const { status, errors } = await documentedAnswer(doc, served.url, [
    "/users/{id}/summary",
    "/users/1/summary?_limit=5",
  ]);
  assert.deepEqual({ status, errors }, { status: 400, errors: [] });
  // Without a query, or with an empty one, it is the summary.
  for (const url of ["/users/1/summary", "/users/1/summary?"]) {
    const res = await fetch(`${served.url}${url}`);
    assert.equal(res.status, 200, url);
    assert.equal((await res.json()).posts.length, 10, url);
  }
});

/** The component names `node`'s `$ref`s name, at any depth. */
function refsOf(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, into));
  else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") {
        into.add(value.split("/").at(-1)!);
      } else refsOf(value, into);
    }
  }
  return into;
}

Deno.test("no schema of the document reaches itself through $refs", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  const schemas = doc.components?.schemas as Record<string, unknown>;
  // A related item is the other's fields alone: with the items as read in
  // their place (a post's user's posts...), prism mock wrote the cycle
  // out as {"$ref": null} and refused its own answer.
  assert.deepEqual(
    refsOf(schemas.Post),
    new Set(["CommentFields", "UserFields"]),
  );
  for (const name of Object.keys(schemas)) {
    const seen = new Set<string>();
    const queue = [...refsOf(schemas[name])];
    while (queue.length > 0) {
      const next = queue.pop()!;
      assert.notEqual(next, name, `${name} reaches itself`);
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(...refsOf(schemas[next]));
    }
  }
});
