/**
 * The upload page with a small file, a new user's usual first try: stored
 * over loopback before the first progress tick, so the only figures the
 * page gets are the `done` event's, which carry no queue capacity. The
 * queue line said "0 B of 0 B queued", a queue of no size; now it leaves
 * the capacity out when it was never told it.
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
import { uploadThroughPage, writeRandomFile } from "./fixtures/upload_page.ts";

Deno.test("the upload page, a 4 KiB file: no queue of 0 B is claimed", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const path = join(dir, "small.bin");
    await writeRandomFile(path, 4096);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      await page.goto(`${origin}/upload`);
      const stored = await uploadThroughPage(page, path);
      assert.equal(stored.status, "Stored small.bin.", stored.status);
      assert.match(stored.size, /^4096 bytes/);
      const queue = await page.locator("#queue-text").innerText();
      assert.doesNotMatch(queue, / of 0 B /, queue);
      assert.match(queue, /^0 B (of \d[\d.]* [KMG]?i?B )?queued \(most: /);
      assert.deepEqual(problems, []);
    });
  });
  assert.equal(t.app.board.size, 0);
});
