/**
 * What Lighthouse's SEO audits (lighthouse 13.5.0, headless Debian
 * chromium) read on every HTML page the service serves, checked in that
 * chromium once the page has run its scripts: a 200, a non-empty title
 * and meta description (a search result's snippet; Lighthouse's
 * `meta-description` failed on `/upload` and `/docs`, SEO 0.9 each),
 * the language, a viewport, and no robots directive that keeps it out of
 * an index. Lighthouse itself needs node >= 22.19 and about 15 s a page
 * here: these are its audits' facts, checked without it.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";

/** The HTML pages (tests/html_pages_test.ts holds the list complete). */
const PAGES = ["/upload", "/docs"];

/** The facts, read in the page (Deno's types have no DOM). */
const READ = `({
  title: document.title.trim(),
  description: document.querySelector('meta[name="description"]')
    ?.getAttribute("content")?.trim() ?? "",
  lang: document.documentElement.lang,
  viewport: document.querySelector('meta[name="viewport"]')
    ?.getAttribute("content") ?? "",
  robots: [...document.querySelectorAll('meta[name="robots"]')]
    .map((meta) => meta.getAttribute("content")),
})`;

Deno.test("every HTML page has what Lighthouse's SEO audits read: title, description, lang, viewport, indexable", async () => {
  await using t = await testApp([]);
  await withChromiumPage(t.app.fetch, async (served) => {
    const { origin, page, context, problems } = served;
    for (const path of PAGES) {
      // A tab each: leaving /upload while its worker's script loads
      // aborts that load.
      const tab = path === PAGES[0] ? page : await context.newPage();
      const response = await tab.goto(`${origin}${path}`);
      assert.equal(response?.status(), 200, path);
      assert.equal(await response?.headerValue("x-robots-tag"), null, path);
      const facts = await tab.evaluate(READ) as Record<string, unknown>;
      assert.match(String(facts.title), /\S/, path);
      // A sentence, not a placeholder.
      assert.ok(String(facts.description).length >= 40, path);
      assert.equal(facts.lang, "en", path);
      assert.match(String(facts.viewport), /width=device-width/, path);
      assert.deepEqual(facts.robots, [], path);
    }
    assert.deepEqual(problems, []);
  });
});
