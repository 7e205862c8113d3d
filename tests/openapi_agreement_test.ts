/**
 * Issue 8 item 10: the server accepts exactly what the served OpenAPI
 * document says. Every declared query constraint is enforced (400 problem,
 * nothing sent upstream); values the document allows are accepted (an
 * empty `Content-Digest` or `?cursor=`); and no header the HTTP client
 * itself must set (`Content-Length`) is declared as a parameter, so
 * generated clients and Swagger UI's curl cannot send a wrong one.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  OpenApiDocument,
  ParameterObject,
} from "../services/ops/openapi.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

type Schema = Record<string, unknown>;

/** Values that break each declared constraint of `schema`. */
function violations(schema: Schema): string[] {
  const out: string[] = [];
  if (typeof schema.minimum === "number") out.push(String(schema.minimum - 1));
  if (typeof schema.maximum === "number") out.push(String(schema.maximum + 1));
  if (schema.type === "integer") out.push("1.5", "abc", "");
  if (schema.type === "boolean") out.push("yes");
  if (Array.isArray(schema.enum)) out.push("not-in-enum");
  return out;
}

/** A value the schema allows. */
function allowed(schema: Schema): string {
  if (Array.isArray(schema.enum)) return String(schema.enum[0]);
  if (typeof schema.minimum === "number") return String(schema.minimum);
  if (schema.type === "boolean") return "true";
  if (schema.type === "integer") return "1";
  return "x";
}

Deno.test("every declared query constraint of the served document is enforced with 400", async () => {
  await using upstream = startFixtureUpstream();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const doc = await (await fetch(`${service.url}/openapi.json`))
    .json() as OpenApiDocument;
  let checked = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    const get = item.get;
    if (get === undefined) continue;
    const url = service.url + path.replace("{id}", "1");
    for (const p of get.parameters.filter((p) => p.in === "query")) {
      const schema = p.schema as Schema;
      // Free-form strings (an opaque cursor, a search) have nothing to break.
      if (violations(schema).length === 0) continue;
      for (const value of violations(schema)) {
        const query = new URLSearchParams({ [p.name]: value });
        const res = await fetch(`${url}?${query}`);
        const body = await res.text();
        assert.equal(res.status, 400, `${path}?${query}: ${body}`);
        assert.equal(
          res.headers.get("content-type"),
          "application/problem+json",
        );
        checked++;
      }
      const query = new URLSearchParams({ [p.name]: allowed(schema) });
      const res = await fetch(`${url}?${query}`);
      assert.notEqual(res.status, 400, `${path}?${query}: ${await res.text()}`);
    }
  }
  assert.ok(checked >= 50, `only ${checked} violations tried`);
  // Refused values never reach the upstream.
  upstream.resetHits();
  for (const query of ["_page=0", "_limit=-1", "_start=-1", "_order=up"]) {
    const res = await fetch(`${service.url}/posts?${query}`);
    await res.body?.cancel();
    assert.equal(res.status, 400, query);
  }
  assert.equal(upstream.hits(), 0);
});

Deno.test("an empty Content-Digest or Repr-Digest is ignored, as the document allows", async () => {
  await using service = await serveApp({});
  for (const name of ["content-digest", "repr-digest"]) {
    for (const value of ["", " "]) {
      const res = await fetch(`${service.url}/files`, {
        method: "POST",
        body: "hello",
        headers: { [name]: value },
      });
      assert.equal(res.status, 201, `${name}: "${value}" ${await res.text()}`);
    }
  }
  // A malformed one is still refused.
  const bad = await fetch(`${service.url}/files`, {
    method: "POST",
    body: "hello",
    headers: { "content-digest": "sha-256=:nope:" },
  });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("GET /files?cursor= (empty) is the first page, as the document allows", async () => {
  await using service = await serveApp({});
  for (const body of ["a", "b", "c"]) {
    const res = await fetch(`${service.url}/files`, { method: "POST", body });
    await res.body?.cancel();
  }
  const first = await (await fetch(`${service.url}/files?limit=2`)).json();
  const empty = await fetch(`${service.url}/files?limit=2&cursor=`);
  assert.equal(empty.status, 200);
  assert.deepEqual(await empty.json(), first);
});

// Headers the HTTP client derives from the request itself; a declared one
// invites a value that disagrees with the body (RFC 9110, OpenAPI 3.1 4.8.12).
// Content-Encoding says how the body was compressed: declared on uploads, a
// generated client offered it as a free option, and sent it over bytes it
// had not compressed (400).
const CLIENT_SET = [
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "host",
  "connection",
  "accept",
  "content-type",
  "authorization",
];

Deno.test("the document declares no header the HTTP client sets itself", async () => {
  await using service = await serveApp({});
  const doc = await (await fetch(`${service.url}/openapi.json`))
    .json() as OpenApiDocument;
  const declared: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const p of operation.parameters as ParameterObject[]) {
        if (p.in === "header" && CLIENT_SET.includes(p.name.toLowerCase())) {
          declared.push(`${method} ${path} ${p.name}`);
        }
      }
    }
  }
  assert.deepEqual(declared, []);
});
