/**
 * A client generated from the served `/openapi.json`, as API users make
 * one: `openapi-typescript` writes the types (through its Node API, with a
 * transform as its docs give for file uploads, for OpenAPI 3.1's forms of
 * bytes: a body's empty schema and a part's `contentMediaType` are a
 * `Blob`; its CLI says `unknown` and `string`), `deno check` passes on them (with this project's
 * strict compiler options) and on a program that calls the real service
 * through `openapi-fetch` with them: a list, an item, a revalidation (304),
 * a filter, a 404 read as problem+json, a raw upload of bytes, the same
 * gzipped by the client (a coding it cannot name without compressing: no
 * `Content-Encoding` parameter), a form upload of a `File`, and the
 * download of the first. A type the document
 * gets wrong fails the check; an answer that does not match it fails here.
 *
 * Needs `deno install` (npm:openapi-typescript, npm:openapi-fetch) and
 * Node on PATH.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runDeno, runTool } from "./fixtures/tool.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";

/** openapi-typescript and the TypeScript it builds its output with. */
const PACKAGES = new URL(
  "../node_modules/.deno/openapi-typescript@7.13.0/node_modules/",
  import.meta.url,
);
const GENERATOR = new URL("openapi-typescript/dist/index.mjs", PACKAGES);
const TYPESCRIPT = new URL("typescript/lib/typescript.js", PACKAGES);

/** The generator, run by Node: `node gen.mjs openapi.json schema.d.ts`. */
const GENERATE = `
import { writeFile } from "node:fs/promises";
const { default: openapiTS, astToString } = await import(${
  JSON.stringify(GENERATOR.href)
});
const { default: ts } = await import(${JSON.stringify(TYPESCRIPT.href)});
const [input, output] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode("Blob");
// OpenAPI 3.1's bytes: a part's contentMediaType, and a body of bytes (an
// empty schema, which only postTransform sees, by its media type).
const BYTES = ["application~1octet-stream", "*~1*"].map((type) =>
  "/content/" + type
);
const ast = await openapiTS(new URL(input, \`file://\${process.cwd()}/\`), {
  transform: (schema) =>
    schema.contentMediaType === undefined ? undefined : BLOB,
  postTransform: (type, { path }) =>
    BYTES.some((end) => path?.endsWith(end)) ? BLOB : type,
});
await writeFile(output, astToString(ast));
`;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/**
 * The client program, written next to the generated `schema.d.ts`. Its
 * typed reads (`item.data?.title`, `missing.error?.status`) are what
 * `deno check` holds against the generated types. The upload body is a
 * union of the media types, narrowed in the serializer as users must.
 */
const PROGRAM = `
import createClient from "openapi-fetch";
import type { paths } from "./schema.d.ts";

const client = createClient<paths>({ baseUrl: Deno.args[0]! });
const list = await client.GET("/posts");
const item = await client.GET("/posts/{id}", { params: { path: { id: 1 } } });
const title: string | undefined = item.data?.title;
const etag = item.response.headers.get("etag") ?? "";
const again = await client.GET("/posts/{id}", {
  params: { path: { id: 1 }, header: { "If-None-Match": etag } },
});
const filter = await client.GET("/comments", {
  params: { query: { postId: 2 } },
});
const postIds: number[] | undefined = filter.data?.map((c) => c.postId);
const missing = await client.GET("/posts/{id}", {
  params: { path: { id: 9999 } },
});
const problemStatus: number | undefined = missing.error?.status;
const bytes = crypto.getRandomValues(new Uint8Array(60_000));
// The body is a union of the media types: narrowed as users must.
const toForm = (body: Blob | { file: Blob }) => {
  if (body instanceof Blob) return body;
  const form = new FormData();
  form.append("file", body.file);
  return form;
};
const raw = await client.POST("/files", {
  body: new Blob([bytes]),
  headers: { "content-type": "application/octet-stream" },
  bodySerializer: toForm,
});
// Content-Encoding is no parameter: the generated client offers no way to
// name a coding apart from compressing the body (the type check fails on
// this call; it is never made).
const misled = () =>
  client.POST("/files", {
    // @ts-expect-error: Content-Encoding is not an upload parameter.
    params: { header: { "Content-Encoding": "gzip" } },
    body: new Blob([bytes]),
    bodySerializer: toForm,
  });
// Compressing is the client's own step, and it names the coding with it.
const gzipped = await new Response(
  new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
).blob();
const coded = await client.POST("/files", {
  body: gzipped,
  headers: {
    "content-type": "application/octet-stream",
    "content-encoding": "gzip",
  },
  bodySerializer: toForm,
});
const form = await client.POST("/files", {
  body: { file: new File(["form upload"], "a.txt", { type: "text/plain" }) },
  bodySerializer: toForm,
});
const download = await client.GET("/files/{id}", {
  params: { path: { id: raw.data?.id ?? "" } },
  parseAs: "arrayBuffer",
});
const digest = async (data: ArrayBuffer | Uint8Array<ArrayBuffer>) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
const size: number | undefined = raw.data?.size;
console.log(JSON.stringify({
  list: { status: list.response.status, length: list.data?.length },
  title,
  again: again.response.status,
  postIds,
  missing: {
    status: missing.response.status,
    type: missing.response.headers.get("content-type"),
    problemStatus,
  },
  raw: {
    status: raw.response.status,
    size,
    stored: raw.data?.sha256,
    sent: await digest(bytes),
  },
  download: {
    status: download.response.status,
    sha256: download.data && await digest(download.data),
  },
  coded: { status: coded.response.status, stored: coded.data?.sha256 },
  misled: typeof misled,
  form: { status: form.response.status, ...form.data },
}));
`;

Deno.test("a client generated by openapi-typescript type-checks and calls the real service through openapi-fetch", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const document = await (await fetch(`${service.url}/openapi.json`)).text();
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/openapi.json`, document);
    await Deno.writeTextFile(`${dir}/gen.mjs`, GENERATE);
    const generated = await runTool(
      "node",
      ["gen.mjs", "openapi.json", "schema.d.ts"],
      { install: "run `deno install`; Node.js on PATH", cwd: dir },
    );
    assert.equal(generated.code, 0, generated.stderr);
    await Deno.writeTextFile(`${dir}/client.ts`, PROGRAM);
    const flags = ["--config", CONFIG, "--frozen"];
    await runDeno(["check", ...flags, "schema.d.ts", "client.ts"], dir);
    const { host } = new URL(service.url);
    const result = JSON.parse(
      await runDeno(
        ["run", ...flags, `--allow-net=${host}`, "client.ts", service.url],
        dir,
      ),
    );
    assert.deepEqual(result.list, { status: 200, length: 100 });
    assert.equal(typeof result.title, "string");
    assert.equal(result.again, 304);
    assert.deepEqual(result.postIds, [2, 2, 2, 2, 2]);
    assert.deepEqual(result.missing, {
      status: 404,
      type: "application/problem+json",
      problemStatus: 404,
    });
    assert.equal(result.raw.status, 201);
    assert.equal(result.raw.size, 60_000);
    assert.equal(result.raw.stored, result.raw.sent);
    assert.deepEqual(result.download, {
      status: 200,
      sha256: result.raw.sent,
    });
    assert.deepEqual(result.coded, { status: 201, stored: result.raw.sent });
    assert.equal(result.form.status, 201);
    assert.equal(
      result.form.sha256,
      sha256Hex(new TextEncoder().encode("form upload")),
    );
    assert.equal(result.form.filename, "a.txt");
    assert.equal(result.form.contentType, "text/plain");
  });
});
