/**
 * Tests of the OpenAPI document against what is real: its schemas against
 * the real JSONPlaceholder data and the service's real answers, and the
 * document as `GET /openapi.json` serves it.
 *
 * @module
 */

import assert from "node:assert/strict";
import data from "jsonplaceholder/data.json" with { type: "json" };
import {
  openApiDocument,
  OPERATIONS,
  type ResponseObject,
} from "../routes/openapi.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import {
  deref,
  operationsOf,
  routesOf,
  undeclaredHeaders,
  validate,
} from "./fixtures/openapi_checks.ts";

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
  const created = await uploaded.json() as { id: string; created: string };
  // Its Last-Modified is sent from the second after the file's on.
  const strong = Math.floor(Date.parse(created.created) / 1000) * 1000 + 1000;
  await new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, strong - Date.now()) + 10)
  );

  const answer = async (
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
      // The most specific key that covers it, as OpenAPI reads media
      // ranges (`text/*`, `*/*`: a download is served as declared).
      const content = response.content?.[mediaType] ??
        response.content?.[`${mediaType.split("/")[0]}/*`] ??
        response.content?.["*/*"];
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
      // Sent only in some cases (Content-Disposition: form uploads;
      // X-Total-Count and Link: a paged list; X-Accel-Expires: an aged
      // answer with NGINX_ACCEL_EXPIRES).
      const sometimes = [
        "Retry-After",
        "WWW-Authenticate",
        "Link",
        "Content-Disposition",
        "X-Total-Count",
        "Accept-Post",
        "Accept-Patch",
        "Accept-Encoding",
        "X-Accel-Expires",
      ];
      if (sometimes.includes(name)) continue;
      assert.ok(res.headers.has(name), `${where}: no ${name} header`);
    }
    // Whatever else is sent is declared for that status.
    assert.deepEqual(
      undeclaredHeaders(response.headers, res),
      [],
      `${where}: not declared`,
    );
    return res;
  };
  const check = async (...args: Parameters<typeof answer>) =>
    (await answer(...args)).status;

  let checked = 0;
  let notModified = 0;
  for (const [path, method] of operationsOf(doc)) {
    if (method !== "get") continue;
    const url = path.replace(
      "{id}",
      path.startsWith("/files/") ? created.id : "1",
    );
    const ok = await answer(path, method, url);
    assert.equal(ok.status, 200, url);
    checked++;
    // Its 304 too: the same checks, with what a 304 sends.
    const etag = ok.headers.get("etag");
    if (etag === null) continue;
    const revalidated = await answer(path, method, url, {
      headers: { "if-none-match": etag },
    });
    assert.equal(revalidated.status, 304, url);
    notModified++;
  }
  assert.ok(checked >= 20);
  assert.ok(notModified >= 18, `${notModified} 304s`);

  // Some of the documented failures, as the service really answers them.
  assert.equal(await check("/posts/{id}", "get", "/posts/abc"), 400);
  assert.equal(await check("/posts/{id}", "get", "/posts/9999"), 404);
  // The summary's own 404 (it was checked at `/users/99`, the item's).
  assert.equal(
    await check("/users/{id}/summary", "get", "/users/99/summary"),
    404,
  );
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
  // A failed precondition sends the file's ETag, declared as such.
  assert.equal(
    await check("/files/{id}", "get", `/files/${created.id}`, {
      headers: { "if-match": '"other"' },
    }),
    412,
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
  // Refused bodies, each saying what is taken.
  const sent = (method: string, headers: Record<string, string>) => ({
    method,
    body: "a=b",
    headers,
  });
  const text = { "content-type": "text/plain" };
  assert.equal(
    await check("/posts", "post", "/posts", sent("POST", text)),
    415,
  );
  assert.equal(
    await check("/posts/{id}", "patch", "/posts/1", sent("PATCH", text)),
    415,
  );
  assert.equal(
    await check(
      "/posts",
      "post",
      "/posts",
      sent("POST", {
        "content-type": "application/json",
        "content-encoding": "br",
      }),
    ),
    415,
  );
  assert.equal(
    await check(
      "/files",
      "post",
      "/files",
      sent("POST", { "content-type": "application/x-www-form-urlencoded" }),
    ),
    415,
  );
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
