/**
 * Tests of the OpenAPI document: its structure and its agreement with the
 * real route table (both ways, strictly). Its schemas against the real
 * JSONPlaceholder data and the service's real answers, and
 * `GET /openapi.json`, are in `openapi_data_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type OpenApiDocument,
  openApiDocument,
  openApiPath,
  OPERATIONS,
  type ResponseObject,
} from "../routes/openapi.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import {
  deref,
  operationsOf,
  resolve,
  routesOf,
  type Schema,
} from "./fixtures/openapi_checks.ts";

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head"];

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
      if (method === "head") {
        // HEAD answers have no body, errors neither.
        assert.equal(response.content, undefined, `${where} ${status}`);
      } else if (
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
    "X-Accel-Expires",
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
    // wrong values from generated clients); no Content-Encoding: what
    // compresses the body sets it (see the request body).
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
    [
      "Cache-Control",
      "ETag",
      "Location",
      "Repr-Digest",
      "Server-Timing",
      "X-Content-Type-Options",
      "X-Request-Id",
    ],
  );
  assert.deepEqual(
    Object.keys(doc.paths["/files"] ?? {}).sort(),
    ["get", "head", "options", "post", "put"],
  );
});

Deno.test("every route of the app has an operation, and every operation a route", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const routes = t.app.router.routes;
  const doc = openApiDocument(routes);
  // The router serves HEAD wherever GET is, and OPTIONS on every path.
  const fromRoutes = [
    ...new Set(routes.flatMap((r) => {
      const path = openApiPath(r.pattern);
      const method = r.method.toLowerCase();
      return [
        `${method} ${path}`,
        `options ${path}`,
        ...(method === "get" ? [`head ${path}`] : []),
      ];
    })),
  ].sort();
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
