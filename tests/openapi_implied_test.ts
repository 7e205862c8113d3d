/**
 * The operations the router serves itself are in the served document:
 * `HEAD` beside every `GET` (its parameters and statuses, each with the
 * `GET` answer's headers and no body) and `OPTIONS` on every path (204 with
 * the path's `Allow`, a preflight's `Access-Control-Allow-*`, a malformed
 * preflight's 400), and the 400 to a malformed `Host` on every operation.
 * Each is checked against the real service's answers. Without them,
 * `prism proxy --errors` in front of the service answered 405 to `HEAD` and
 * `OPTIONS` on every path, and generated clients offered no such call.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  HeaderObject,
  OpenApiDocument,
  ResponseObject,
} from "../routes/openapi.ts";
import { deref, undeclaredHeaders } from "./fixtures/openapi_checks.ts";
import { serveApp, type ServedApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const TOKEN = "admin-token-0123456789";

async function servedDocument(served: ServedApp): Promise<OpenApiDocument> {
  const res = await fetch(`${served.url}/openapi.json`);
  assert.equal(res.status, 200);
  return await res.json() as OpenApiDocument;
}

/** A URL of `path` on `served`: `{id}` is 1, or `fileId` under /files. */
function urlOf(served: ServedApp, path: string, fileId: string): string {
  const id = path.startsWith("/files/") ? fileId : "1";
  return served.url + path.replace("{id}", id);
}

/** The header names of `response`, lower case, sorted. */
function headerNames(doc: OpenApiDocument, response: unknown): string[] {
  const resolved = deref<ResponseObject>(doc, response as ResponseObject);
  return Object.keys(resolved.headers ?? {}).map((name) => name.toLowerCase())
    .sort();
}

Deno.test("every GET has a HEAD operation: its parameters and statuses, the same headers, no body", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url, "--cache-admin-token", TOKEN],
  });
  const doc = await servedDocument(served);
  let checked = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    const { get, head } = item;
    if (get === undefined) {
      assert.equal(head, undefined, `HEAD ${path} without GET`);
      continue;
    }
    assert.ok(head, `GET ${path} has no HEAD operation`);
    assert.deepEqual(head.parameters, get.parameters, path);
    assert.deepEqual(head.tags, get.tags, path);
    assert.deepEqual(head.security, get.security, path);
    assert.deepEqual(
      Object.keys(head.responses),
      Object.keys(get.responses),
      path,
    );
    for (const [status, response] of Object.entries(head.responses)) {
      const resolved = deref<ResponseObject>(doc, response);
      assert.equal(resolved.content, undefined, `HEAD ${path} ${status}`);
      assert.deepEqual(
        headerNames(doc, response),
        headerNames(doc, get.responses[status]),
        `HEAD ${path} ${status}`,
      );
    }
    checked++;
  }
  assert.ok(checked >= 30, `only ${checked} GET paths`);
});

Deno.test("HEAD on every GET path answers a declared status with declared headers", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url, "--cache-admin-token", TOKEN],
  });
  const doc = await servedDocument(served);
  const upload = await fetch(`${served.url}/files`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: "hello",
  });
  assert.equal(upload.status, 201);
  const { id } = await upload.json() as { id: string };
  let checked = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    if (item.get === undefined) continue;
    assert.ok(item.head, `GET ${path} has no HEAD operation`);
    const res = await fetch(urlOf(served, path, id), { method: "HEAD" });
    assert.equal(res.body, null, path);
    const declared = item.head.responses[String(res.status)];
    assert.ok(declared, `HEAD ${path} -> ${res.status} is not declared`);
    const response = deref<ResponseObject>(doc, declared);
    assert.deepEqual(undeclaredHeaders(response.headers, res), [], path);
    checked++;
  }
  assert.ok(checked >= 30, `only ${checked} HEAD requests`);
});

/** The `const` a declared header's schema gives, if any. */
function constOf(header: unknown): unknown {
  return ((header as HeaderObject | undefined)?.schema ?? {}).const;
}

Deno.test("OPTIONS on every path: the declared Allow, preflight headers and 400", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url, "--cache-admin-token", TOKEN],
  });
  const doc = await servedDocument(served);
  const preflight = {
    origin: "http://page.test",
    "access-control-request-method": "PUT",
  };
  for (const [path, item] of Object.entries(doc.paths)) {
    const options = item.options;
    assert.ok(options, `${path} has no OPTIONS operation`);
    const url = urlOf(served, path, "0".repeat(32));
    const declared = deref<ResponseObject>(doc, options.responses["204"]!);
    const headers = declared.headers ?? {};

    const plain = await fetch(url, { method: "OPTIONS" });
    assert.equal(plain.status, 204, path);
    assert.equal(plain.headers.get("allow"), constOf(headers["Allow"]), path);
    assert.deepEqual(undeclaredHeaders(headers, plain), [], path);

    const asked = await fetch(url, { method: "OPTIONS", headers: preflight });
    assert.equal(asked.status, 204, path);
    assert.equal(
      asked.headers.get("access-control-allow-methods"),
      constOf(headers["Access-Control-Allow-Methods"]),
      path,
    );
    assert.equal(
      Number(asked.headers.get("access-control-max-age")),
      constOf(headers["Access-Control-Max-Age"]),
      path,
    );
    assert.deepEqual(undeclaredHeaders(headers, asked), [], path);

    const bad = await fetch(url, {
      method: "OPTIONS",
      headers: { ...preflight, "access-control-request-method": "P T" },
    });
    assert.equal(bad.status, 400, path);
    assert.equal(bad.headers.get("content-type"), "application/problem+json");
    await bad.body?.cancel();
    const refused = deref<ResponseObject>(doc, options.responses["400"]!);
    assert.deepEqual(undeclaredHeaders(refused.headers, bad), [], path);
  }
});

/** `GET target` with `Host: host` on a raw socket: the status. */
async function statusWithHost(
  served: ServedApp,
  target: string,
  host: string,
): Promise<number> {
  const conn = await Deno.connect({ port: Number(new URL(served.url).port) });
  await conn.write(new TextEncoder().encode(
    `GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`,
  ));
  const text = new TextDecoder().decode(
    await new Response(conn.readable).arrayBuffer(),
  );
  return Number(text.split(" ")[1]);
}

Deno.test("the 400 to a malformed Host is declared on every operation", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url, "--cache-admin-token", TOKEN],
  });
  const doc = await servedDocument(served);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      assert.ok(op.responses["400"], `${method} ${path} declares no 400`);
    }
  }
  // The probes, which declared no 4xx at all, answer it.
  for (const target of ["/", "/healthz", "/readyz", "/metrics"]) {
    assert.equal(await statusWithHost(served, target, "a b"), 400, target);
  }
});
