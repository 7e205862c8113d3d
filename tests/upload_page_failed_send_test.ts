/**
 * The upload page when the upload itself fails on the network (the
 * connection refused or reset before the service heard of it) while its
 * event stream is open: the page says the upload failed and closes the
 * stream. It left the stream open, waiting for events of an upload that
 * never began, for as long as the page stayed open; chromium keeps at most
 * 6 HTTP/1.1 connections to one origin, so after 6 such failures in one
 * tab the next upload's stream waited for a connection for ever and the
 * page stayed at "Uploading…" without sending anything (Cancel did nothing:
 * there was no request yet to cancel).
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

Deno.test("an upload lost on the network: the page says so and lets its event stream go", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const path = join(dir, "lost.bin");
    await writeRandomFile(path, 4096);
    await withChromiumPage(t.app.fetch, async (served) => {
      const { origin, page, context } = served;
      // The upload's connection fails before the service hears of it.
      await context.route(
        (url) => url.origin === origin && url.pathname === "/files",
        (route) => route.abort("connectionreset"),
      );
      await page.goto(`${origin}/upload`);
      await page.setInputFiles("#file", path);
      const status = page.locator("#status");
      await status.filter({ hasText: /^Upload failed/ }).waitFor();
      assert.equal(await status.innerText(), "Upload failed: network error");
      // The stream's end reaches the service once chromium closed it.
      for (let tries = 0; tries < 50 && t.app.watchers.count > 0; tries++) {
        await page.waitForTimeout(100);
      }
      assert.equal(t.app.watchers.count, 0, "the event stream was left open");
      assert.equal(await page.locator("#file").isEnabled(), true);
    });
  });
  assert.equal(t.app.board.size, 0);
});
