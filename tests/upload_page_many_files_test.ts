/**
 * The upload page with many files dropped at once, by a real drag
 * (chromium's `Input.dispatchDragEvent`, the files named by path as the
 * desktop gives them): the page uploads one file at a time, so it sends the
 * first, and the status says that the others were not sent. It said only
 * "Stored a.bin.": the other files were left out without a word, and the
 * user took them for stored.
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
import { writeRandomFile } from "./fixtures/upload_page.ts";

Deno.test("three files dropped on the upload page: the first is stored, the status names the two left out", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const paths = ["a.bin", "b.bin", "c.bin"].map((name) => join(dir, name));
    for (const path of paths) await writeRandomFile(path, 2048);
    await withChromiumPage(t.app.fetch, async (served) => {
      const { origin, page, context, problems } = served;
      await page.goto(`${origin}/upload`);
      const box = await page.locator("#drop").boundingBox();
      assert.ok(box);
      const cdp = await context.newCDPSession(page);
      const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
      const data = { items: [], files: paths, dragOperationsMask: 1 };
      for (const type of ["dragEnter", "dragOver", "drop"] as const) {
        await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
      }
      const status = page.locator("#status");
      await status.filter({ hasText: /^(Stored|Upload failed)/ }).waitFor();
      assert.equal(
        await status.innerText(),
        "Stored a.bin. The other 2 dropped files were not sent: this page " +
          "uploads one file at a time.",
      );
      assert.deepEqual(problems, []);
    });
  });
  const listed = await (await t.get("/files")).json();
  assert.equal(listed.items.length, 1);
  assert.equal(listed.items[0].size, 2048);
});
