/**
 * The upload page's Cancel, in Debian's chromium against the real app on
 * loopback: an upload throttled to 1 MB/s is stopped from the keyboard
 * half-way; the page says so and can upload again, and the service keeps
 * nothing of it (no file, no upload in flight, no subscriber). Before,
 * the page had no way to stop an upload but closing it (a 1 GiB upload at
 * a slow uplink ran for hours with "Uploading…" and a time left).
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
import {
  throttleUploads,
  uploadThroughPage,
  writeRandomFile,
} from "./fixtures/upload_page.ts";

const MIB = 1024 * 1024;

Deno.test("the upload page cancels an upload from the keyboard; nothing is kept and it uploads again", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const path = join(dir, "large.bin");
    await writeRandomFile(path, 8 * MIB);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      await page.goto(`${origin}/upload`);
      const cancel = page.locator("#cancel");
      assert.equal(await cancel.isVisible(), false, "no Cancel while idle");
      await throttleUploads(page, 1_000_000);
      await page.setInputFiles("#file", path);
      await until(
        async () =>
          Number(await page.locator("#bar").getAttribute("value")) > 0,
        "progress",
      );
      assert.equal(t.app.board.size, 1, "the upload runs");
      await cancel.focus();
      await page.keyboard.press("Enter");
      // Once the page is ready for another file.
      await until(
        () => page.locator("#file").isEnabled(),
        "the file input enabled again",
      );
      assert.equal(
        await page.locator("#status").innerText(),
        "Cancelled large.bin.",
      );
      assert.equal(await cancel.isVisible(), false);
      assert.equal(await page.locator("#file").isEnabled(), true);
      // The keyboard's place: back on the file input, not the page's start.
      assert.equal(await page.evaluate("document.activeElement.id"), "file");
      assert.equal(await page.locator("#result-box").isVisible(), false);
      // The service saw the client leave: nothing in flight, nothing kept.
      await until(
        () => t.app.board.size === 0 && t.app.watchers.count === 0,
        "no upload in flight, no subscriber",
      );
      const listed = await (await t.get("/files")).json();
      assert.deepEqual(listed.items, []);
      // The aborted POST is the one failed request.
      assert.deepEqual(problems, [
        `request failed: ${origin}/files net::ERR_ABORTED`,
      ]);
      problems.length = 0;

      await throttleUploads(page, undefined);
      const again = await uploadThroughPage(page, path);
      assert.equal(again.status, "Stored large.bin.", again.status);
      assert.deepEqual(problems, []);
    });
  });
  assert.equal(t.app.watchers.count, 0);
  assert.equal(t.app.board.size, 0);
});
