/**
 * Every HTML page the service serves has its real-browser test: the pages
 * are read from the served `/openapi.json` (each route declares its
 * answers there, and tests/openapi_test.ts holds every route to having an
 * operation), and each must be one that a chromium test drives (no console error,
 * no failed or outside request, its main function used). A new page fails
 * here until it has such a test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

/** Each HTML page and the test file that drives it in chromium. */
const BROWSER_TESTED: Record<string, string> = {
  "/docs": "docs_test.ts",
  "/upload": "upload_page_test.ts",
};

interface Document {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: object }> }>
  >;
}

Deno.test("every HTML page in /openapi.json has a chromium test", async () => {
  await using service = await serveApp({
    args: ["--cache-admin-token", "admin-token-0123456789"],
  });
  const document = await (await fetch(`${service.url}/openapi.json`))
    .json() as Document;
  const pages = Object.entries(document.paths).filter(([, operations]) =>
    Object.values(operations.get?.responses ?? {}).some((response) =>
      Object.keys(response.content ?? {}).includes("text/html")
    )
  ).map(([path]) => path).sort();
  assert.deepEqual(pages, Object.keys(BROWSER_TESTED).sort());
  for (const [page, file] of Object.entries(BROWSER_TESTED)) {
    const text = await Deno.readTextFile(new URL(file, import.meta.url));
    // withChromiumPage launches chromium and records the page's problems.
    assert.match(text, /withChromiumPage\(/, `${file} drives ${page}`);
    const res = await fetch(`${service.url}${page}`);
    await res.body?.cancel();
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  }
});
