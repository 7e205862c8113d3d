/**
 * axe-core, the accessibility engine behind Lighthouse's and Playwright's
 * audits, run in Debian's chromium on every HTML page the service serves:
 * `/upload` idle, while it uploads and once stored has no violation at
 * all; `/docs` has none but Swagger UI's own (below), which this service
 * does not render. Before, `/docs` also had its servers select without a
 * name (select-name, critical: Swagger UI wraps it in an empty label),
 * which the page's initializer now names.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import axeSource from "axe-core/axe.min.js" with { type: "text" };
import { withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import { throttleUploads, writeRandomFile } from "./fixtures/upload_page.ts";

/**
 * Swagger UI's own, in the markup and styles of swagger-ui-dist (5.35.0,
 * the same in 5.36.0): its method badges and links under 4.5:1 contrast,
 * an operation's summary a button holding buttons, its tag headings
 * after an h2 as h3 with an h4 skipped, its info and servers blocks
 * outside the `<main>` it puts the operations in (wrapping the page in a
 * landmark nests that `<main>`: three violations for one).
 */
const SWAGGER_UI_OWN = [
  "color-contrast",
  "heading-order",
  "nested-interactive",
  "region",
];

/** The ids of the rules axe-core finds violated on `page`, with a node each. */
async function violations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the pages' CSP allows no
  // injected script, and needs no loosening for this.
  await page.evaluate(axeSource);
  return await page.evaluate(`axe.run(document, {
    resultTypes: ["violations"],
  }).then((r) => r.violations.map((v) => v.id + " " + v.nodes[0].target))`);
}

Deno.test("axe-core finds nothing on /docs but Swagger UI's own", async () => {
  await using t = await testApp([]);
  await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
    await page.goto(`${origin}/docs`);
    await page.locator(".opblock").first().waitFor();
    await page.locator("#servers").waitFor();
    const found = await violations(page);
    const ours = found.filter((v) =>
      !SWAGGER_UI_OWN.includes(v.split(" ")[0] ?? "")
    );
    assert.deepEqual(ours, []);
    assert.deepEqual(problems, []);
  });
});

Deno.test("axe-core finds nothing on /upload: idle, uploading, stored", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const path = join(dir, "audited.bin");
    await writeRandomFile(path, 4 * 1024 * 1024);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      await page.goto(`${origin}/upload`);
      assert.deepEqual(await violations(page), [], "idle");
      await throttleUploads(page, 2_000_000);
      await page.setInputFiles("#file", path);
      await until(
        async () =>
          Number(await page.locator("#bar").getAttribute("value")) > 0,
        "progress",
      );
      assert.deepEqual(await violations(page), [], "uploading");
      await until(
        () => page.locator("#result-box").isVisible(),
        "the stored file shown",
      );
      assert.deepEqual(await violations(page), [], "stored");
      assert.deepEqual(problems, []);
    });
  });
});
