/**
 * The upload page used from the keyboard alone, in Debian's chromium
 * against the real app on loopback: the file is picked with Space on the
 * file input (its file chooser), and the keyboard keeps a place on the
 * page while the upload runs and after it. The input is disabled while an
 * upload runs, and a focused element that is disabled drops focus to the
 * page's body: a keyboard (or screen reader) user who had just picked a
 * file was left nowhere, with Cancel somewhere after it and the download
 * link, once stored, reachable only by starting over from the top. With
 * `UPLOAD_TOKEN`, the refused pick opens the token's field, and focus goes
 * there, the next thing to type.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { chromiumPerFile, withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import { throttleUploads, writeRandomFile } from "./fixtures/upload_page.ts";

/** One chromium for this file's tests, each in a fresh context. */
const browser = chromiumPerFile();

const MIB = 1024 * 1024;

/**
 * Picks `path` whenever the page opens a file chooser, and counts the
 * choosers. Set before the page loads: a listener added at the key press
 * turns chromium's chooser interception on only after a round trip, and
 * a chooser opened before then never reaches the test (1 in 6 runs here).
 */
function pickOnChooser(page: Page, path: string): { opened: number } {
  const seen = { opened: 0 };
  page.on("filechooser", async (chooser) => {
    seen.opened++;
    await chooser.setFiles(path);
  });
  return seen;
}

Deno.test("the upload page keeps the keyboard's place: on Cancel while it uploads, on the file input after", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const path = join(dir, "picked.bin");
    await writeRandomFile(path, 4 * MIB);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      const chooser = pickOnChooser(page, path);
      await page.goto(`${origin}/upload`);
      const focused = () => page.evaluate("document.activeElement.id");
      // 4 MiB at 2 MB/s: two seconds in which to look at the focus.
      await throttleUploads(page, 2_000_000);
      await page.keyboard.press("Tab");
      assert.equal(await focused(), "file", "Tab reaches the file input");
      await page.keyboard.press("Space");
      await until(() => chooser.opened === 1, "the file chooser");
      await until(
        async () =>
          Number(await page.locator("#bar").getAttribute("value")) > 0,
        "progress",
      );
      assert.equal(await page.locator("#file").isEnabled(), false);
      assert.equal(await focused(), "cancel", "focus while it uploads");
      await until(
        () => page.locator("#result-box").isVisible(),
        "the stored file shown",
      );
      assert.equal(
        await page.locator("#status").innerText(),
        "Stored picked.bin.",
      );
      assert.equal(await focused(), "file", "focus once it is stored");
      // From there the keyboard reaches the new download link: past the
      // token's (closed) disclosure, the next stop.
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      assert.equal(await focused(), "download");
      assert.deepEqual(problems, []);
    }, { browser: browser() });
  });
  assert.equal(t.app.board.size, 0);
});

Deno.test("with UPLOAD_TOKEN, a file picked from the keyboard is refused and the keyboard goes to the token field", async () => {
  const token = "a-long-enough-upload-token";
  await using t = await testApp(["--upload-token", token]);
  await withTempDir(async (dir) => {
    const path = join(dir, "picked.bin");
    await writeRandomFile(path, MIB);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      const chooser = pickOnChooser(page, path);
      await page.goto(`${origin}/upload`);
      const focused = () => page.evaluate("document.activeElement.id");
      await page.focus("#file");
      await page.keyboard.press("Space");
      await until(() => chooser.opened === 1, "the file chooser");
      await until(
        async () =>
          /^Upload failed: .*Bearer/.test(
            await page.locator("#status").innerText(),
          ),
        "the refusal shown",
      );
      assert.equal(await page.locator("#file").isEnabled(), true);
      assert.equal(await focused(), "token", "focus once the token is asked");
      // Typed there, and the file picked again: stored.
      await page.keyboard.type(token);
      await page.focus("#file");
      await page.keyboard.press("Space");
      await until(() => chooser.opened === 2, "the file chooser again");
      await until(
        () => page.locator("#result-box").isVisible(),
        "the stored file shown",
      );
      assert.equal(await focused(), "file");
      // The event stream's 401 was the shared worker's (the page sees none
      // of its requests), so nothing else of the page failed.
      assert.ok(problems.every((p) => /401/.test(p)), `${problems}`);
    }, { browser: browser() });
  });
  assert.equal(t.app.watchers.count, 0);
});
