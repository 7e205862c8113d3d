/**
 * The upload page with many files dropped at once, by a real drag
 * (chromium's `Input.dispatchDragEvent`, the files named by path as the
 * desktop gives them): the page sends them all, as many at a time as
 * chromium can run (tests/upload_page_queue_test.ts), and says so. It
 * once said only "Stored a.bin.": the other files were left out without a
 * word, and the user took them for stored. A dropped folder is said to be one: chromium
 * hands it over as a file it cannot read, and the page sent it and said
 * "Upload failed: network error". A file dropped while another uploads is
 * said not to be sent (nothing happened: it looked queued).
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { join } from "node:path";
import { chromiumPerFile, withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import { throttleUploads, writeRandomFile } from "./fixtures/upload_page.ts";

/** One chromium for this file's tests, each in a fresh context. */
const browser = chromiumPerFile();

/** Drags `paths` from the desktop onto the page's drop box. */
async function dropOn(
  page: Page,
  context: BrowserContext,
  paths: string[],
): Promise<void> {
  const box = await page.locator("#drop").boundingBox();
  assert.ok(box);
  const cdp = await context.newCDPSession(page);
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"] as const) {
    await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  }
}

Deno.test("three files dropped on the upload page: all three are stored, and the status says so", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const paths = ["a.bin", "b.bin", "c.bin"].map((name) => join(dir, name));
    for (const path of paths) await writeRandomFile(path, 2048);
    await withChromiumPage(t.app.fetch, async (served) => {
      const { origin, page, context, problems } = served;
      await page.goto(`${origin}/upload`);
      await dropOn(page, context, paths);
      const status = page.locator("#status");
      await status.filter({ hasText: /^(Stored|Upload failed)/ }).waitFor();
      assert.equal(await status.innerText(), "Stored 3 files.");
      assert.deepEqual(
        await page.locator("#files .file-state").allInnerTexts(),
        ["stored", "stored", "stored"],
      );
      assert.deepEqual(problems, []);
    }, { browser: browser() });
  });
  const listed = await (await t.get("/files")).json();
  assert.deepEqual(
    listed.items.map((item: { size: number }) => item.size),
    [2048, 2048, 2048],
  );
});

Deno.test("a folder dropped on the upload page is said to be one, not sent", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const folder = join(dir, "photos");
    await Deno.mkdir(folder);
    await writeRandomFile(join(folder, "a.bin"), 2048);
    await withChromiumPage(t.app.fetch, async (served) => {
      const { origin, page, context, problems } = served;
      await page.goto(`${origin}/upload`);
      await dropOn(page, context, [folder]);
      const status = page.locator("#status");
      await until(
        async () => (await status.innerText()) !== "Pick a file to upload.",
        "the page answered the drop",
      );
      assert.equal(
        await status.innerText(),
        "photos is a folder: this page uploads files.",
      );
      assert.equal(await page.locator("#file").isEnabled(), true);
      assert.deepEqual(problems, []);
    }, { browser: browser() });
  });
  const listed = await (await t.get("/files")).json();
  assert.deepEqual(listed.items, []);
});

Deno.test("a file dropped while another uploads is said not to be sent", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const [first, second] = [join(dir, "first.bin"), join(dir, "second.bin")];
    await writeRandomFile(first, 8 * 1024 * 1024);
    await writeRandomFile(second, 2048);
    await withChromiumPage(t.app.fetch, async (served) => {
      const { origin, page, context } = served;
      await page.goto(`${origin}/upload`);
      await throttleUploads(page, 1_000_000);
      await page.setInputFiles("#file", first);
      await until(() => t.app.board.size === 1, "the first upload runs");
      await dropOn(page, context, [second]);
      assert.equal(
        await page.locator("#status").innerText(),
        "first.bin is still uploading: drop the next file once it is done.",
      );
      await page.locator("#cancel").click();
      await until(() => page.locator("#file").isEnabled(), "cancelled");
    }, { browser: browser() });
  });
  const listed = await (await t.get("/files")).json();
  assert.deepEqual(listed.items, []);
});
