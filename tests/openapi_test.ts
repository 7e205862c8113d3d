/**
 * Tests of the OpenAPI document: its structure, its agreement with the real
 * route table (both ways, strictly), its schemas against the real
 * JSONPlaceholder data and the service's real answers, and
 * `GET /openapi.json`.
 *
 * @module
 */

import assert from "node:assert/strict";
import data from "jsonplaceholder/data.json" with { type: "json" };
import type { Route } from "../routes/router.ts";
import {
  type OpenApiDocument,
  openApiDocument,
  openApiPath,
  type OperationObject,
  OPERATIONS,
  type ResponseObject,
} from "../routes/openapi.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head"];

function operationsOf(
  doc: OpenApiDocument,
): [path: string, method: string, op: OperationObject][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) =>
      [path, method, op] as [string, string, OperationObject]
    )
  );
}

/** Resolves a local `$ref` (`#/components/...`) or throws. */
function resolve(doc: unknown, ref: string): unknown {
  assert.ok(ref.startsWith("#/"), `non-local $ref ${ref}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split("/")) {
    assert.ok(
      typeof node === "object" && node !== null && Object.hasOwn(node, part),
      `unresolved $ref ${ref}`,
    );
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Every `$ref` anywhere in `value`. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, found));
  else if (typeof value === "object" && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === "$ref" && typeof v === "string") found.push(v);
      else refs(v, found);
    }
  }
  return found;
}

function deref<T>(doc: OpenApiDocument, value: T | { $ref: string }): T {
  return (typeof value === "object" && value !== null && "$ref" in value
    ? resolve(doc, value.$ref)
    : value) as T;
}

type Schema = Record<string, unknown>;

/**
 * A small JSON Schema check, enough for the keywords the document uses:
 * `$ref`, `type`, `const`, `enum`, `required`, `properties`,
 * `additionalProperties: false`, `items`, `anyOf`, `minimum`, `maximum`,
 * `pattern` and `format: date-time`. Returns what does not match.
 */
function validate(
  doc: OpenApiDocument,
  schema: Schema,
  value: unknown,
  at = "$",
): string[] {
  if (typeof schema.$ref === "string") {
    return validate(doc, resolve(doc, schema.$ref) as Schema, value, at);
  }
  const errors: string[] = [];
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as Schema[]).some((s) =>
      validate(doc, s, value, at).length === 0
    );
    if (!ok) errors.push(`${at}: matches no anyOf branch`);
    return errors;
  }
  const type = schema.type as string | undefined;
  const actual = value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : Number.isInteger(value)
    ? "integer"
    : typeof value;
  if (
    type !== undefined && type !== actual &&
    !(type === "number" && actual === "integer")
  ) {
    return [`${at}: ${actual} is not ${type}`];
  }
  if ("const" in schema && schema.const !== value) {
    errors.push(`${at}: not ${JSON.stringify(schema.const)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      errors.push(`${at}: below minimum`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      errors.push(`${at}: above maximum`);
    }
  }
  if (typeof value === "string") {
    if (
      typeof schema.pattern === "string" &&
      !new RegExp(schema.pattern).test(value)
    ) {
      errors.push(`${at}: ${value} does not match ${schema.pattern}`);
    }
    if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) {
      errors.push(`${at}: not a date-time`);
    }
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!Object.hasOwn(object, name)) errors.push(`${at}: missing ${name}`);
    }
    for (const [name, v] of Object.entries(object)) {
      const property = properties[name];
      if (property) errors.push(...validate(doc, property, v, `${at}.${name}`));
      else if (schema.additionalProperties === false) {
        errors.push(`${at}: unexpected ${name}`);
      }
    }
  }
  if (actual === "array" && schema.items) {
    (value as unknown[]).forEach((v, i) =>
      errors.push(...validate(doc, schema.items as Schema, v, `${at}[${i}]`))
    );
  }
  return errors;
}

/** A route table with the given keys (`"GET /x"`), handlers unused. */
function routesOf(...keys: string[]): Route[] {
  return keys.map((key) => {
    const [method = "", pattern = ""] = key.split(" ");
    return { method, pattern, handler: () => new Response(null) };
  });
}

Deno.test("the document of the app's routes is structurally valid OpenAPI 3.1", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const doc = openApiDocument(t.app.router.routes);

  assert.equal(doc.openapi, "3.1.0");
  assert.equal(doc.info.title, "async-api");
  assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(doc.servers.map((s) => s.url), ["/"]);
  for (
    const name of [
      "Post",
      "Comment",
      "Album",
      "Photo",
      "Todo",
      "User",
      "UserSummary",
      "UploadResult",
      "FileMetadata",
      "FileList",
      "Problem",
    ]
  ) {
    assert.ok(doc.components.schemas[name], `schema ${name}`);
  }
  // The document survives JSON and every $ref in it resolves.
  const reparsed = JSON.parse(JSON.stringify(doc)) as OpenApiDocument;
  assert.deepEqual(reparsed, doc);
  const allRefs = refs(doc);
  assert.ok(allRefs.length > 50);
  for (const ref of allRefs) resolve(doc, ref);

  const ids = new Set<string>();
  const tags = new Set(doc.tags.map((tag) => tag.name));
  for (const [path, method, op] of operationsOf(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.match(path, /^\/[^:*()]*$/, where);
    assert.ok(METHODS.includes(method), where);
    assert.notEqual(method, "head", `${where}: HEAD is implied by GET`);
    assert.ok(!ids.has(op.operationId), `${where}: duplicate operationId`);
    ids.add(op.operationId);
    assert.ok(op.summary.length > 0, where);
    for (const tag of op.tags) assert.ok(tags.has(tag), `${where}: tag ${tag}`);

    // Template parameters and path parameters agree exactly.
    const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const inPath = op.parameters.filter((p) => p.in === "path");
    assert.deepEqual(inPath.map((p) => p.name), template, where);
    for (const p of inPath) assert.equal(p.required, true, where);
    const names = op.parameters.map((p) => `${p.in}:${p.name}`);
    assert.equal(new Set(names).size, names.length, `${where}: duplicates`);

    const statuses = Object.keys(op.responses);
    assert.ok(statuses.some((s) => /^[23]\d\d$/.test(s)), where);
    for (const status of statuses) {
      assert.match(status, /^([1-5]\d\d|default)$/, where);
      const raw = op.responses[status]!;
      const response = deref<ResponseObject>(doc, raw);
      assert.ok(response.description.length > 0, `${where} ${status}`);
      // A write's upstream answer comes back as it is, whatever its status.
      const passedThrough = "$ref" in raw &&
        raw.$ref === "#/components/responses/UpstreamAnswer";
      if (
        !passedThrough && (status === "default" || Number(status) >= 400)
      ) {
        // Every error is an RFC 9457 problem.
        assert.deepEqual(
          response.content?.["application/problem+json"]?.schema,
          { $ref: "#/components/schemas/Problem" },
          `${where} ${status}`,
        );
      }
    }
  }

  // Spot checks of what the brief for the docs asked for.
  const getPost = doc.paths["/posts/{id}"]?.get;
  assert.deepEqual(getPost?.parameters[0]?.schema, {
    type: "integer",
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
  });
  assert.ok(getPost?.responses["304"]);
  const postHeaders = deref<ResponseObject>(doc, getPost!.responses["200"]!)
    .headers ?? {};
  assert.deepEqual(Object.keys(postHeaders).sort(), [
    "Age",
    "Cache-Control",
    "Cache-Status",
    "ETag",
    "Server-Timing",
    "X-Request-Id",
  ]);
  const listComments = doc.paths["/comments"]?.get;
  assert.ok(listComments?.parameters.some((p) => p.name === "postId"));
  assert.match(listComments?.description ?? "", /Any field/);
  const download = doc.paths["/files/{id}"]?.get;
  assert.equal(
    (download?.parameters[0]?.schema as Schema).pattern,
    "^[0-9a-f]{32}$",
  );
  assert.ok(download?.responses["206"] && download.responses["416"]);
  const upload = doc.paths["/files"]?.post;
  assert.ok(upload?.requestBody?.content["application/octet-stream"]);
  assert.deepEqual(
    upload?.parameters.map((p) => p.name),
    // No Content-Length: the HTTP client sets it (a declared one invited
    // wrong values from generated clients).
    ["Content-Digest", "Repr-Digest", "Upload-Id"],
  );
  for (
    const status of ["201", "400", "401", "408", "409", "413", "503", "507"]
  ) {
    assert.ok(upload?.responses[status], `POST /files ${status}`);
  }
  assert.deepEqual(
    Object.keys(
      deref<ResponseObject>(doc, upload!.responses["201"]!).headers ?? {},
    ).sort(),
    ["ETag", "Location", "Repr-Digest", "Server-Timing", "X-Request-Id"],
  );
  assert.deepEqual(
    Object.keys(doc.paths["/files"] ?? {}).sort(),
    ["get", "post", "put"],
  );
});

Deno.test("every route of the app has an operation, and every operation a route", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const routes = t.app.router.routes;
  const doc = openApiDocument(routes);
  const fromRoutes = routes.map((r) =>
    `${r.method.toLowerCase()} ${openApiPath(r.pattern)}`
  ).sort();
  const fromDoc = operationsOf(doc).map(([path, method]) => `${method} ${path}`)
    .sort();
  assert.deepEqual(fromDoc, fromRoutes);
  for (
    const op of [
      "get /posts/{id}",
      "get /users/{id}/summary",
      "get /albums/{id}/photos",
      "post /files",
      "delete /files/{id}",
      "get /openapi.json",
      "get /docs",
      "get /metrics",
    ]
  ) {
    assert.ok(fromDoc.includes(op), op);
  }
});

Deno.test("a route without a description, or a description without a route, throws", async () => {
  await using upstream = startFixtureUpstream();
  // With the token, DELETE /cache exists: every description has its route.
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--cache-admin-token",
    "admin-token-0123456789",
  ]);
  const routes = t.app.router.routes;

  assert.throws(
    () => openApiDocument([...routes, ...routesOf("GET /fake")]),
    /route GET \/fake has no operation description/,
  );
  assert.throws(
    () => openApiDocument([...routes, ...routesOf("PUT /posts")]),
    /route PUT \/posts has no operation description/,
  );
  assert.throws(
    () => openApiDocument(routes.filter((r) => r.pattern !== "/todos/:id")),
    /operation description GET \/todos\/:id has no route/,
  );
  // The optional entries may lack their routes; nothing else may.
  const withoutMetrics = routes.filter((r) => r.pattern !== "/metrics");
  assert.equal(openApiDocument(withoutMetrics).paths["/metrics"], undefined);
  const withoutPurge = routes.filter((r) => r.pattern !== "/cache");
  assert.equal(openApiDocument(withoutPurge).paths["/cache"], undefined);

  const base = { operationId: "x", summary: "x", tags: [], responses: {} };
  assert.throws(
    () =>
      openApiDocument(routesOf("GET /x/:id"), {
        operations: { "GET /x/:id": base },
        optional: new Set(),
      }),
    /GET \/x\/:id: path parameters \[id\] but described \[\]/,
  );
  assert.throws(
    () =>
      openApiDocument(routesOf("GET /x/*"), {
        operations: { "GET /x/*": base },
        optional: new Set(),
      }),
    /Cannot express the pattern in OpenAPI: \/x\/\*/,
  );
  assert.throws(
    () =>
      openApiDocument(routesOf("GET /a", "GET /b"), {
        operations: { "GET /a": base, "GET /b": base },
        optional: new Set(),
      }),
    /operationId x is not unique/,
  );
  // Every entry of the table is used by the real app.
  const keys = new Set(routes.map((r) => `${r.method} ${r.pattern}`));
  assert.deepEqual(
    Object.keys(OPERATIONS).filter((key) => !keys.has(key)),
    [],
  );
});

Deno.test("the schemas fit the real JSONPlaceholder data", () => {
  const doc = openApiDocument(routesOf(...Object.keys(OPERATIONS)));
  const schemaOf: Record<string, string> = {
    posts: "Post",
    comments: "Comment",
    albums: "Album",
    photos: "Photo",
    todos: "Todo",
    users: "User",
  };
  assert.deepEqual(Object.keys(data).sort(), Object.keys(schemaOf).sort());
  for (const [resource, items] of Object.entries(data)) {
    const schema = { $ref: `#/components/schemas/${schemaOf[resource]}` };
    const errors = validate(doc, { type: "array", items: schema }, items);
    assert.deepEqual(errors.slice(0, 5), [], resource);
    assert.ok(items.length > 0);
  }
  // And the check is not vacuous.
  assert.notDeepEqual(
    validate(doc, { $ref: "#/components/schemas/Post" }, {
      userId: 1,
      id: "1",
      title: "t",
    }),
    [],
  );
});

Deno.test("every GET operation's real answer is documented and fits its schema", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const doc = openApiDocument(t.app.router.routes);

  const uploaded = await t.get("/files", { method: "POST", body: "hello" });
  assert.equal(uploaded.status, 201);
  const created = await uploaded.json() as { id: string };

  const check = async (
    path: string,
    method: string,
    url: string,
    init?: RequestInit,
  ) => {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method} ${path}`);
    const res = await t.get(url, init);
    const where = `${method.toUpperCase()} ${url} -> ${res.status}`;
    const documented = op.responses[String(res.status)] ??
      op.responses.default;
    assert.ok(documented, where);
    const response = deref<ResponseObject>(doc, documented);
    if (res.status === 204 || res.status === 304) {
      assert.equal(response.content, undefined, where);
      await res.body?.cancel();
    } else {
      const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!;
      const content = response.content?.[mediaType];
      assert.ok(content, `${where}: ${mediaType} not documented`);
      if (mediaType.endsWith("json")) {
        assert.deepEqual(
          validate(doc, content.schema, await res.json()).slice(0, 5),
          [],
          where,
        );
      } else {
        await res.body?.cancel();
      }
    }
    for (const name of Object.keys(response.headers ?? {})) {
      // Sent only in some cases (Content-Disposition: form uploads).
      const sometimes = [
        "Retry-After",
        "WWW-Authenticate",
        "Link",
        "Content-Disposition",
      ];
      if (sometimes.includes(name)) continue;
      assert.ok(res.headers.has(name), `${where}: no ${name} header`);
    }
    return res.status;
  };

  let checked = 0;
  for (const [path, method] of operationsOf(doc)) {
    if (method !== "get") continue;
    const url = path.replace(
      "{id}",
      path.startsWith("/files/") ? created.id : "1",
    );
    assert.equal(await check(path, method, url), 200, url);
    checked++;
  }
  assert.ok(checked >= 20);

  // Some of the documented failures, as the service really answers them.
  assert.equal(await check("/posts/{id}", "get", "/posts/abc"), 400);
  assert.equal(await check("/posts/{id}", "get", "/posts/9999"), 404);
  assert.equal(await check("/users/{id}/summary", "get", "/users/99"), 404);
  assert.equal(
    await check("/files/{id}", "get", `/files/${"0".repeat(32)}`),
    404,
  );
  assert.equal(
    await check("/files/{id}", "get", `/files/${created.id}`, {
      headers: { range: "bytes=1-2" },
    }),
    206,
  );
  assert.equal(
    await check("/files/{id}", "get", `/files/${created.id}`, {
      headers: { range: "bytes=99-" },
    }),
    416,
  );
  assert.equal(await check("/files", "get", "/files?limit=0"), 400);
  assert.equal(
    await check("/files", "post", "/files", {
      method: "POST",
      body: "x",
      headers: { "content-digest": "sha-256=:nope:" },
    }),
    400,
  );
  assert.equal(
    await check("/files/{id}", "delete", `/files/${created.id}`, {
      method: "DELETE",
    }),
    204,
  );
  assert.equal(await check("/posts", "get", "/posts", { method: "PUT" }), 405);
});

Deno.test("GET /openapi.json serves the document with an ETag", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const res = await t.get("/openapi.json");
  assert.equal(res.status, 200);
  assert.equal(
    res.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  const etag = res.headers.get("etag");
  assert.match(etag ?? "", /^"[A-Za-z0-9_-]+"$/);
  assert.deepEqual(await res.json(), openApiDocument(t.app.router.routes));

  const again = await t.get("/openapi.json");
  assert.equal(again.headers.get("etag"), etag);
  await again.body?.cancel();
  const notModified = await t.get("/openapi.json", {
    headers: { "if-none-match": etag! },
  });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body, null);
  const head = await t.get("/openapi.json", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.equal(upstream.hits(), 0);
});
