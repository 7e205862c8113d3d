/**
 * Tests of the docs page: its headers and assets over `app.fetch`, then the
 * real page in Debian's chromium (driven by playwright-core) against the
 * real app served on loopback in front of the fixture upstream: no console
 * error, no failed or outside request, the operations listed, and "try it
 * out" of `GET /posts/{id}` showing post 1, of `POST /posts`, and of
 * `POST /files` with a picked file, raw and as a form (stored intact).
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`), and `-A`
 * (playwright-core under `deno test`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import data from "jsonplaceholder/data.json" with { type: "json" };
import { DOCS_CSP } from "../routes/ops/docs.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { listedPaths, revealOperation } from "./fixtures/swagger_ui.ts";
const WAIT_MS = 15_000;

/** The file the docs page uploads. */
const UPLOADED = new TextEncoder().encode("hello from the docs page\n");

/**
 * Picks {@linkcode UPLOADED} as the body of `POST /files` in Swagger UI
 * (try-it-out is on from the start) with `contentType`, executes, and
 * returns the upload's answer as the page shows it.
 */
async function tryUpload(
  page: Page,
  contentType: string,
): Promise<{ sha256: string; filename?: string; contentType?: string }> {
  const op = await revealOperation(page, "#operations-files-uploadFile");
  if (!await op.locator("button.execute").isVisible()) {
    await op.locator(".opblock-summary-control").click();
  }
  await op.locator(".opblock-section-request-body select").selectOption(
    contentType,
  );
  await op.locator('input[type="file"]').setInputFiles({
    name: "hello.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(UPLOADED),
  });
  await op.locator("button.execute").click();
  const shown = op.locator(
    ".live-responses-table .response-col_description pre",
  )
    .filter({
      hasText: `"${
        contentType === "multipart/form-data" ? "filename" : "sha256"
      }"`,
    });
  await shown.first().waitFor({ timeout: WAIT_MS });
  const status = await op.locator(
    ".live-responses-table .response .response-col_status",
  ).first().innerText();
  assert.equal(status.trim(), "201", contentType);
  return JSON.parse(await shown.first().innerText());
}

Deno.test("/docs and its assets are served with types, caching and a strict CSP", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);

  const page = await t.get("/docs");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(page.headers.get("content-security-policy"), DOCS_CSP);
  assert.match(DOCS_CSP, /default-src 'none'/);
  assert.match(DOCS_CSP, /connect-src 'self'(;|$)/);
  const html = await page.text();
  const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) =>
    m[1]!
  );
  assert.deepEqual(sources, [
    "data:,",
    "/assets/swagger-ui.css",
    "/assets/swagger-ui-bundle.js",
    "/assets/swagger-initializer.js",
  ]);

  const types: Record<string, string> = {
    "/assets/swagger-ui.css": "text/css; charset=utf-8",
    "/assets/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/assets/swagger-initializer.js": "text/javascript; charset=utf-8",
  };
  for (const [path, type] of Object.entries(types)) {
    const res = await t.get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), type, path);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const text = await res.text();
    assert.ok(text.length > 0, path);
    assert.equal(
      Number(res.headers.get("content-length")),
      new TextEncoder().encode(text).byteLength,
      path,
    );
    assert.doesNotMatch(text, /sourceMappingURL/, path);
  }
  const init = await (await t.get("/assets/swagger-initializer.js")).text();
  assert.match(init, /url: "\/openapi\.json"/);
  assert.match(init, /validatorUrl: null/);
  assert.equal((await t.get("/assets/nope.js")).status, 404);
  assert.equal(upstream.hits(), 0);
});

Deno.test("the docs page works in chromium: no errors, same origin only, try it out", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  await withChromiumPage(t.app.fetch, async (served) => {
    const { origin, page, problems, requested } = served;
    const response = await page.goto(`${origin}/docs`, {
      waitUntil: "load",
      timeout: WAIT_MS,
    });
    assert.equal(response?.status(), 200);

    // The operations are listed, grouped by tag.
    const getPost = page.locator("#operations-posts-getPost");
    await getPost.waitFor({ timeout: WAIT_MS });
    // Read while scrolling: Swagger UI renders a long list virtualized.
    const paths = await listedPaths(page);
    for (
      const path of [
        "/posts/{id}",
        "/users/{id}/summary",
        "/files",
        "/files/{id}",
        "/uploads",
        "/uploads/events",
        "/upload",
        "/openapi.json",
        "/metrics",
      ]
    ) {
      assert.ok(paths.includes(path), `${path} not listed in ${paths}`);
    }

    // Try it out: GET /posts/{id} with id 1, from the page.
    await getPost.locator(".opblock-summary-control").click();
    const id = getPost.locator('tr[data-param-name="id"] input');
    await id.waitFor({ timeout: WAIT_MS });
    await id.fill("1");
    await getPost.locator("button.execute").click();
    const title = data.posts[0]!.title;
    const body = getPost.locator(
      ".live-responses-table .response-col_description pre",
    )
      .filter({ hasText: title });
    await body.first().waitFor({ timeout: WAIT_MS });
    const shown = JSON.parse(await body.first().innerText());
    assert.deepEqual(shown, data.posts[0]);
    const status = await getPost.locator(
      ".live-responses-table .response .response-col_status",
    ).first().innerText();
    assert.equal(status.trim(), "200");
    assert.equal(upstream.hits("/posts/1"), 1);

    // Try it out: POST /posts with the body the page fills in from the
    // schema, passed through to the upstream as JSON.
    const create = page.locator("#operations-posts-createPost");
    await create.locator(".opblock-summary-control").click();
    const execute = create.locator("button.execute");
    await execute.waitFor({ timeout: WAIT_MS });
    await execute.click();
    const created = create.locator(
      ".live-responses-table .response .response-col_status",
    ).first();
    await created.waitFor({ timeout: WAIT_MS });
    assert.equal((await created.innerText()).trim(), "201");
    const sent = upstream.requests.find((r) => r.method === "POST");
    assert.match(
      sent?.headers.get("content-type") ?? "",
      /^application\/json/,
    );
    assert.equal(typeof JSON.parse(sent!.body!), "object");

    // Try it out: POST /files with a picked file, raw and as a form.
    const raw = await tryUpload(page, "application/octet-stream");
    assert.equal(raw.sha256, sha256Hex(UPLOADED));
    assert.equal(raw.filename, undefined);
    const form = await tryUpload(page, "multipart/form-data");
    assert.equal(form.sha256, sha256Hex(UPLOADED));
    assert.equal(form.filename, "hello.txt");
    assert.equal(form.contentType, "text/plain");

    assert.deepEqual(problems, []);
    assert.ok(requested.includes(`${origin}/openapi.json`), `${requested}`);
    assert.ok(requested.includes(`${origin}/posts/1`), `${requested}`);
    for (const url of requested) {
      if (url.startsWith("data:")) continue;
      assert.equal(new URL(url).origin, origin, url);
    }
  });
});
