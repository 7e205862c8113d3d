/**
 * Answers outside the reads that `openapi_data_test.ts` walks, checked
 * against the served document as a generated client reads it: a write's
 * answer (the upstream's item, its `{}` for an unknown id), the purge's
 * and an event stream's 204 each come with a declared status, and every
 * header they send beyond framing, negotiation and CORS is declared for
 * that status.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { OpenApiDocument, ResponseObject } from "../routes/openapi.ts";
import { deref, undeclaredHeaders } from "./fixtures/openapi_checks.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** The headers `res` sends that `doc` does not declare for it. */
function undeclared(
  doc: OpenApiDocument,
  path: string,
  method: string,
  res: Response,
): string[] {
  const op = doc.paths[path]?.[method];
  assert.ok(op, `${method} ${path} is documented`);
  const documented = op.responses[String(res.status)];
  assert.ok(documented, `${method} ${path} -> ${res.status} is declared`);
  const response = deref<ResponseObject>(doc, documented);
  return undeclaredHeaders(response.headers, res);
}

const TOKEN = "0123456789abcdef0123";
const JSON_BODY = { "content-type": "application/json" };

Deno.test("the headers of writes, purges and an ended event stream are declared for their status", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url, "--cache-admin-token", TOKEN],
  });
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  const cases: [string, string, string, RequestInit, number][] = [
    ["/posts", "post", "/posts", {
      method: "POST",
      headers: JSON_BODY,
      body: '{"title":"t"}',
    }, 201],
    ["/posts/{id}", "put", "/posts/1", {
      method: "PUT",
      headers: JSON_BODY,
      body: '{"title":"t"}',
    }, 200],
    ["/posts/{id}", "patch", "/posts/1", {
      method: "PATCH",
      headers: JSON_BODY,
      body: '{"title":"t"}',
    }, 200],
    ["/posts/{id}", "delete", "/posts/1", { method: "DELETE" }, 200],
    // The upstream's own 404, passed on.
    ["/posts/{id}", "put", "/posts/9999", {
      method: "PUT",
      headers: JSON_BODY,
      body: '{"title":"t"}',
    }, 404],
    ["/posts/{id}", "delete", "/posts/9999", { method: "DELETE" }, 404],
    ["/cache", "delete", "/cache?path=/posts/1", {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    }, 200],
    ["/uploads/events", "get", `/uploads/events?id=${"0".repeat(32)}`, {
      headers: { "last-event-id": "ended" },
    }, 204],
  ];
  for (const [path, method, target, init, status] of cases) {
    const res = await fetch(served.url + target, init);
    await res.body?.cancel();
    assert.equal(res.status, status, `${method} ${target}`);
    assert.deepEqual(
      undeclared(doc, path, method, res),
      [],
      `${method.toUpperCase()} ${target} -> ${res.status}`,
    );
  }
});
