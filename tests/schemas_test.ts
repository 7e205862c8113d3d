/**
 * Issue 9 item 4: shapes are declared once, with zod. The stored-file
 * sidecars are checked against `FileMetadataSchema` when read; the
 * document's components and query parameters are the JSON Schema of the
 * same zod schemas the server validates with, so the two cannot disagree.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openApiDocument } from "../routes/openapi.ts";
import { ListQuerySchema } from "../routes/jsonplaceholder/resources.ts";
import { FileListQuerySchema } from "../routes/files/schemas.ts";
import { jsonSchemaOf } from "../services/ops/openapi.ts";
import {
  FileMetadataSchema,
  parseMetadata,
} from "../services/storage/metadata.ts";
import { testApp } from "./fixtures/app.ts";

const ID = "0123456789abcdef0123456789abcdef";
const GOOD = {
  id: ID,
  size: 5,
  sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
  created: "2026-12-01T21:00:00.000Z",
};

Deno.test("parseMetadata keeps a sidecar that fits FileMetadataSchema, and only that", () => {
  assert.deepEqual(parseMetadata(ID, JSON.stringify(GOOD)), GOOD);
  assert.deepEqual(
    parseMetadata(ID, JSON.stringify({ ...GOOD, filename: "a.txt", x: 1 })),
    { ...GOOD, filename: "a.txt" },
  );
  for (
    const bad of [
      { ...GOOD, sha256: "not-hex" },
      { ...GOOD, size: -1 },
      { ...GOOD, size: 1.5 },
      { ...GOOD, filename: 7 },
      { ...GOOD, id: "f".repeat(32) },
    ]
  ) {
    assert.equal(parseMetadata(ID, JSON.stringify(bad)), undefined);
  }
  assert.equal(parseMetadata(ID, "{not json"), undefined);
});

Deno.test("a stored file whose sidecar does not fit the schema is neither listed nor served", async () => {
  await using t = await testApp([]);
  const dir = join(t.dataDir, "files");
  await Deno.writeTextFile(join(dir, ID), "hello");
  await Deno.writeTextFile(
    join(dir, `${ID}.json`),
    JSON.stringify({ ...GOOD, sha256: "not-hex" }),
  );
  const res = await t.get(`/files/${ID}`);
  await res.body?.cancel();
  assert.equal(res.status, 404);
  const list = await (await t.get("/files")).json() as { items: unknown[] };
  assert.deepEqual(list.items, []);
  // The same file with a sidecar that fits is served.
  await Deno.writeTextFile(join(dir, `${ID}.json`), JSON.stringify(GOOD));
  const ok = await t.get(`/files/${ID}`);
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "hello");
});

Deno.test("the document's schemas and query parameters are the zod schemas' JSON Schema", async () => {
  await using t = await testApp([]);
  const doc = openApiDocument(t.app.router.routes);
  assert.deepEqual(
    doc.components.schemas.FileMetadata,
    jsonSchemaOf(FileMetadataSchema),
  );
  const query = (path: string) =>
    Object.fromEntries(
      doc.paths[path]!.get!.parameters.filter((p) => p.in === "query")
        .map((p) => [p.name, { ...p.schema, description: p.description }]),
    );
  const expected = (schema: { shape: Record<string, unknown> }) =>
    (jsonSchemaOf(schema as never, "input") as {
      properties: Record<string, unknown>;
    }).properties;
  assert.deepEqual(query("/files"), expected(FileListQuerySchema));
  const posts = query("/posts");
  for (const [name, schema] of Object.entries(expected(ListQuerySchema))) {
    assert.deepEqual(posts[name], schema, name);
  }
  // What the document declares is what the server enforces.
  for (
    const [url, status] of [["/files?limit=1001", 400], [
      "/files?limit=1000",
      200,
    ]] as const
  ) {
    const res = await t.get(url);
    await res.body?.cancel();
    assert.equal(res.status, status, url);
  }
});
