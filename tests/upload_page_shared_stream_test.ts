/**
 * The upload page's tabs share one event stream (a SharedWorker holding
 * one `GET /uploads/events`): chromium keeps at most 6 HTTP/1.1
 * connections to one origin, and each tab's upload held 2 (the upload and
 * its own `?id=` stream), so with 3 tabs uploading a fourth tab's upload
 * waited for a connection, and 5 tabs of one browser could not upload at
 * once (3 ran, 2 waited). Shared, 5 uploads hold 6 connections and run
 * together, each tab drawing its own upload's progress from the one
 * stream, which closes once no tab watches. An instance from before the
 * worker (a rolling upgrade: this page, the worker's script asked of the
 * old instance) answers 404 for it: the tab then reads its own stream as
 * before, and the upload still shows its progress and its result.
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

const TABS = 5;
// 2 MiB at 200 KB/s: ten seconds, so all of them run at once for a while.
const FILE_BYTES = 2 * 1024 * 1024;
const RATE = 200_000;
const IDLE_LANE =
  "waiting on the network: 0 ms · blocked on a full queue: 0 ms";

function text(page: Page, id: string): Promise<string> {
  return page.locator(`#${id}`).innerText();
}

Deno.test("five tabs upload at once over one shared event stream, each showing its own progress", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    await withChromiumPage(t.app.fetch, async ({ origin, page, context }) => {
      const tabs = [page];
      for (let i = 1; i < TABS; i++) tabs.push(await context.newPage());
      for (const [i, tab] of tabs.entries()) {
        await tab.goto(`${origin}/upload`);
        await throttleUploads(tab, RATE);
        const path = join(dir, `tab${i}.bin`);
        await writeRandomFile(path, FILE_BYTES);
        await tab.setInputFiles("#file", path);
      }
      // Before, 3 ran (2 connections each) and the others waited.
      await until(() => t.app.board.size === TABS, `${TABS} uploads at once`);
      assert.equal(t.app.watchers.count, 1, "one stream for every tab");
      // Each tab draws its lanes from its own upload's progress events.
      for (const tab of tabs) {
        await until(
          async () => (await text(tab, "reader-text")).trim() !== IDLE_LANE,
          "a tab's lanes drawn from its progress events",
        );
      }
      assert.equal(t.app.board.size, TABS, "still all running");

      for (const [i, tab] of tabs.entries()) {
        await tab.locator("#status").filter({
          hasText: /^(Stored|Upload failed)/,
        })
          .waitFor({ timeout: 60_000 });
        assert.equal(await text(tab, "status"), `Stored tab${i}.bin.`);
        assert.match(await text(tab, "verdict"), /^Verdict: read-bound/);
        assert.equal(
          await text(tab, "result-size"),
          `${FILE_BYTES} bytes (2.0 MiB)`,
        );
      }
      // Nobody watches: the worker let the stream go.
      await until(() => t.app.watchers.count === 0, "the shared stream closed");
    }, { browser: browser() });
  });
});

Deno.test("an instance without the worker's script (404): the tab reads its own stream and still shows progress", async () => {
  await using t = await testApp([]);
  // The page of this release, the worker's script asked of an older one.
  const older = (req: Request, info: Deno.ServeHandlerInfo) =>
    new URL(req.url).pathname === "/assets/upload_events.js"
      ? new Response("Not Found", { status: 404 })
      : t.app.fetch(req, info);
  await withTempDir(async (dir) => {
    const path = join(dir, "older.bin");
    await writeRandomFile(path, FILE_BYTES);
    await withChromiumPage(older, async ({ origin, page, requested }) => {
      await page.goto(`${origin}/upload`);
      await throttleUploads(page, RATE * 4);
      await page.setInputFiles("#file", path);
      await until(
        async () => (await text(page, "reader-text")).trim() !== IDLE_LANE,
        "the lanes drawn from the tab's own stream",
      );
      await page.locator("#status").filter({
        hasText: /^(Stored|Upload failed)/,
      })
        .waitFor({ timeout: 60_000 });
      assert.equal(await text(page, "status"), "Stored older.bin.");
      assert.ok(
        requested.some((url) => url.endsWith("/assets/upload_events.js")),
        "the worker was asked for",
      );
      assert.ok(
        requested.some((url) =>
          /\/uploads\/events\?id=[0-9a-f]{32}$/.test(url)
        ),
        "the tab's own stream of its id",
      );
      await until(() => t.app.watchers.count === 0, "its stream closed");
    }, { browser: browser() });
  });
});
