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
import { chromiumPerFile, withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import { throttleUploads, writeRandomFile } from "./fixtures/upload_page.ts";

/** One chromium for this file's tests, each in a fresh context. */
const browser = chromiumPerFile();

/**
 * Swagger UI's own, in the markup of swagger-ui-dist (5.35.0, the same in
 * 5.36.0): an operation's summary a button holding buttons, its tag
 * headings after an h2 as h3 with an h4 skipped, its info and servers
 * blocks outside the `<main>` it puts the operations in (wrapping the page
 * in a landmark nests that `<main>`: three violations for one). Its
 * colours under 4.5:1 (method badges, version badges, links, Authorize,
 * Expand all) were here too: routes/ops/docs_contrast.css raises them.
 */
const SWAGGER_UI_OWN = [
  "heading-order",
  "nested-interactive",
  "region",
];

/** The ids of the rules axe-core finds violated on `page`, with a node each. */
async function violations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the pages' CSP allows no
  // injected script, and needs no loosening for this.
  await page.evaluate(axeSource);
  // target-size (WCAG 2.2's 24 px) is off by default; Lighthouse runs it.
  return await page.evaluate(`axe.run(document, {
    resultTypes: ["violations"],
    rules: { "target-size": { enabled: true } },
  }).then((r) => r.violations.map((v) => v.id + " " + v.nodes[0].target))`);
}

Deno.test("axe-core finds nothing on /docs but Swagger UI's own markup: its colours and targets pass", async () => {
  await using t = await testApp([]);
  await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
    // Lighthouse's phone (412 px wide), where the targets are smallest.
    await page.setViewportSize({ width: 412, height: 823 });
    await page.goto(`${origin}/docs`);
    await page.locator(".opblock").first().waitFor();
    await page.locator("#servers").waitFor();
    const found = await violations(page);
    const ours = found.filter((v) =>
      !SWAGGER_UI_OWN.includes(v.split(" ")[0] ?? "")
    );
    assert.deepEqual(ours, []);
    assert.deepEqual(problems, []);
  }, { browser: browser() });
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
    }, { browser: browser() });
  });
});

Deno.test("axe-core finds nothing on /upload with a batch of files listed: waiting, uploading, stored", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const paths = ["a.bin", "b.bin", "c.bin", "d.bin", "e.bin"]
      .map((name) => join(dir, name));
    for (const path of paths) await writeRandomFile(path, 1024 * 1024);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      await page.setViewportSize({ width: 412, height: 823 });
      await page.goto(`${origin}/upload`);
      await throttleUploads(page, 1_000_000);
      await page.setInputFiles("#file", paths);
      const states = () => page.locator("#files .file-state").allInnerTexts();
      await until(
        async () =>
          (await states()).includes("waiting") && t.app.board.size > 0,
        "some waiting, some running",
      );
      assert.deepEqual(await violations(page), [], "waiting and uploading");
      await until(
        async () => (await states()).every((state) => state === "stored"),
        "all stored",
      );
      assert.deepEqual(await violations(page), [], "stored");
      assert.deepEqual(problems, []);
    }, { browser: browser() });
  });
});
