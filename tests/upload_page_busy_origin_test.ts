/**
 * The upload page when chromium has no connection to give it: chromium
 * keeps at most 6 HTTP/1.1 connections to one origin, and each upload
 * from a page holds 2 (the upload and its event stream), so with 3 tabs
 * uploading, a fourth tab's upload waits for a connection. Cancel stops it
 * while it waits. Before, Cancel stopped only a request already sent:
 * pressed while the page waited it did nothing, and the page stayed at
 * "Uploading…" until another tab's upload ended.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import { writeRandomFile } from "./fixtures/upload_page.ts";

Deno.test("Cancel stops an upload that waits for one of chromium's 6 connections", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const path = join(dir, "waiting.bin");
    await writeRandomFile(path, 4096);
    await withChromiumPage(t.app.fetch, async ({ origin, page, context }) => {
      await page.goto(`${origin}/upload`);
      // Another tab holds all 6 connections, as 3 tabs uploading do.
      const other = await context.newPage();
      await other.goto(`${origin}/upload`);
      await other.evaluate(() => {
        for (let i = 0; i < 6; i++) void fetch("/uploads/events");
      });
      await until(() => t.app.watchers.count === 6, "6 streams open");

      await page.setInputFiles("#file", path);
      const status = page.locator("#status");
      assert.equal(await status.innerText(), "Uploading waiting.bin…");
      await page.locator("#cancel").click();
      await until(
        async () => (await status.innerText()) !== "Uploading waiting.bin…",
        "the page answered Cancel",
      );
      assert.equal(await status.innerText(), "Cancelled waiting.bin.");
      assert.equal(await page.locator("#file").isEnabled(), true);
      assert.equal(await page.locator("#cancel").isVisible(), false);

      // Once the connections are free, nothing was sent after all.
      await other.close();
      await until(() => t.app.watchers.count === 0, "streams closed");
      assert.equal(t.app.board.size, 0);
      const listed = await (await t.get("/files")).json();
      assert.deepEqual(listed.items, []);
    });
  });
});
