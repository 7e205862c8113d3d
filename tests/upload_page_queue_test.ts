/**
 * The upload page with ten files of 3 MiB picked at once, in Debian's
 * chromium, the uploads slowed to 2 MB/s: chromium opens at most 6
 * HTTP/1.1 connections to an origin and the page holds one for its event
 * stream, so the page runs 4 uploads at a time and lists the others as
 * waiting, each then progressing and stored; Cancel stops a waiting one
 * (it never starts) and a running one. Before, the page took one file of
 * a pick (its input had no `multiple`), and an upload sent beyond the
 * connections chromium had left waited with no sign on the page.
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
import { throttleUploads, writeRandomFile } from "./fixtures/upload_page.ts";

const MIB = 1024 * 1024;
const FILES = 10;

Deno.test("ten files picked on the upload page: 4 run at once, the rest wait in view; Cancel stops a waiting and a running one", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    const paths = Array.from(
      { length: FILES },
      (_, i) => join(dir, `f${i}.bin`),
    );
    for (const path of paths) await writeRandomFile(path, 3 * MIB);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      await page.goto(`${origin}/upload`);
      await throttleUploads(page, 2_000_000);
      await page.setInputFiles("#file", paths);
      const states = () => page.locator("#files .file-state").allInnerTexts();
      await until(() => t.app.board.size === 4, "4 uploads running");
      assert.equal(
        await page.locator("#status").innerText(),
        "Uploading 10 files, 4 at a time: the others wait their turn.",
      );
      const first = await states();
      assert.equal(first.length, FILES);
      assert.deepEqual(first.slice(4), Array(FILES - 4).fill("waiting"));

      // A waiting file cancelled never starts; a running one stops.
      await page.getByRole("button", { name: "Cancel f9.bin" }).click();
      assert.equal((await states())[9], "cancelled");
      await until(
        async () => /of 3\.0 MiB$/.test((await states())[0] ?? ""),
        "f0.bin progressing",
      );
      await page.getByRole("button", { name: "Cancel f0.bin" }).click();

      // The last waiting file is seen waiting, then progressing, and never
      // more than 4 uploads at once reach the service. 24 MiB at 2 MB/s:
      // 13 s, where chromium's throttle is shared by the uploads.
      const seen = new Set<string>();
      let most = 0;
      await until(
        async () => {
          most = Math.max(most, t.app.board.size);
          // The status first: once it says the batch ended, the row read
          // after it is in its last state.
          const status = await page.locator("#status").innerText();
          seen.add((await states())[8]!.replace(/^[\d.]+ [KM]?i?B of/, "N of"));
          return /^Stored/.test(status);
        },
        "the batch ends",
        60_000,
      );
      assert.ok(most <= 4, `${most} uploads at once`);
      assert.deepEqual([...seen].filter((s) => s !== "N of 3.0 MiB"), [
        "waiting",
        "stored",
      ]);
      assert.ok(seen.has("N of 3.0 MiB"), [...seen].join(", "));
      assert.equal(
        await page.locator("#status").innerText(),
        "Stored 8 of 10 files; 2 cancelled.",
      );
      assert.deepEqual(await states(), [
        "cancelled",
        ...Array(FILES - 2).fill("stored"),
        "cancelled",
      ]);
      assert.equal(await page.locator("#file").isEnabled(), true);
      assert.deepEqual(problems, [
        `request failed: ${origin}/files net::ERR_ABORTED`,
      ]);
    });
  });
  const listed = await (await t.get("/files?limit=100")).json();
  assert.equal(listed.items.length, FILES - 2);
  assert.ok(
    listed.items.every((item: { size: number }) => item.size === 3 * MIB),
  );
  await until(() => t.app.watchers.count === 0, "no subscriber left");
});
