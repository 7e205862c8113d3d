/**
 * Tests of the upload page (`GET /upload`): its headers and assets over
 * `app.fetch`, then the real page in Debian's chromium against the real
 * app on loopback: a 24 MiB file through a network throttled to 4 MB/s
 * (about 6 s, sampled every 100 ms) shows its progress advancing and the
 * verdict read-bound; unthrottled, a 64 MiB one completes and the SHA-256
 * on the page is the file's. No
 * console error, no failed or outside request. A screenshot goes to the
 * test's temp folder.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { UPLOAD_PAGE_CSP } from "../routes/files/upload_page.ts";
import { chromiumPerFile, withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { hashFile, sha256Hex } from "./fixtures/upload_client.ts";
import {
  throttleUploads,
  uploadThroughPage,
  writeRandomFile,
} from "./fixtures/upload_page.ts";

/** One chromium for this file's tests, each in a fresh context. */
const browser = chromiumPerFile();

const MIB = 1024 * 1024;

Deno.test("/upload and its assets: types, a strict CSP, nothing from elsewhere", async () => {
  await using t = await testApp([]);
  const page = await t.get("/upload");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(page.headers.get("content-security-policy"), UPLOAD_PAGE_CSP);
  assert.match(UPLOAD_PAGE_CSP, /default-src 'none'/);
  assert.match(UPLOAD_PAGE_CSP, /script-src 'self'(;|$)/);
  assert.match(UPLOAD_PAGE_CSP, /style-src 'self'(;|$)/);
  assert.match(UPLOAD_PAGE_CSP, /connect-src 'self'(;|$)/);
  const html = await page.text();
  assert.match(html, /<meta name="viewport"/);
  assert.match(html, /aria-live="polite"/);
  assert.match(html, /<label for="file">/);
  assert.doesNotMatch(html, /<script>|style="/, "nothing inline");
  const sources = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) =>
    m[1]!
  );
  assert.deepEqual(sources, [
    "data:,",
    "/assets/upload.css",
    "/assets/upload.js",
  ]);
  for (
    const [path, type] of [
      ["/assets/upload.js", "text/javascript; charset=utf-8"],
      ["/assets/upload.css", "text/css; charset=utf-8"],
    ]
  ) {
    const res = await t.get(path!);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), type, path);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const text = await res.text();
    assert.doesNotMatch(text, /https?:\/\//, `${path} names no other origin`);
  }
});

Deno.test("the upload page in chromium: throttled it shows progress and read-bound; unthrottled the SHA-256 matches", async () => {
  await using t = await testApp([]);
  await withTempDir(async (dir) => {
    // The throttled file is the README screenshot's 24 MiB: 64 MiB took
    // 17 s of CI time at 4 MB/s and proved nothing more (the bar is
    // sampled every 100 ms: ~60 values either way).
    const slowPath = join(dir, "slow.bin");
    await writeRandomFile(slowPath, 24 * MIB);
    const slowExpected = await hashFile(slowPath);
    const path = join(dir, "upload.bin");
    await writeRandomFile(path, 64 * MIB);
    const expected = await hashFile(path);
    await withChromiumPage(t.app.fetch, async (served) => {
      const { origin, page, problems, requested } = served;
      const response = await page.goto(`${origin}/upload`);
      assert.equal(response?.status(), 200);

      // 4 MB/s: 24 MiB take about 6 s, and the network is the bound.
      await throttleUploads(page, 4_000_000);
      const slow = await uploadThroughPage(page, slowPath, {
        timeoutMs: 120_000,
        onRunning: () =>
          page.screenshot({ path: join(dir, "upload_page.png") }).then(
            () => {},
          ),
      });
      assert.equal(slow.status, "Stored slow.bin.", slow.status);
      assert.match(slow.verdict, /read-bound/);
      // The bar moved through many values on its way up.
      const moving = slow.progress.filter((v) => v > 0 && v < 24 * MIB);
      assert.ok(moving.length >= 5, `progress seen: ${slow.progress}`);
      assert.deepEqual(moving, [...moving].sort((a, b) => a - b));
      assert.ok(slow.lanes.length >= 5, "the lanes are redrawn as it runs");
      assert.equal(slow.sha256, slowExpected.sha256);
      assert.equal(
        (await Deno.stat(join(dir, "upload_page.png"))).isFile,
        true,
      );

      // Unthrottled over loopback.
      await throttleUploads(page, undefined);
      const fast = await uploadThroughPage(page, path);
      assert.equal(fast.status, "Stored upload.bin.", fast.status);
      assert.equal(fast.sha256, expected.sha256);
      assert.match(fast.size, new RegExp(`^${64 * MIB} bytes`));
      assert.match(fast.verdict, /^Verdict: (read|write|hash)-bound/);
      assert.equal(fast.download, `/files/${fast.id}`);
      const stored = await t.get(fast.download);
      assert.equal(stored.status, 200);
      await stored.body?.cancel();

      assert.deepEqual(problems, [], `uploads ${slow.id} ${fast.id}`);
      for (const url of requested) {
        if (!url.startsWith("data:")) {
          assert.equal(new URL(url).origin, origin);
        }
      }
    }, { browser: browser() });
  });
  assert.equal(t.app.watchers.count, 0);
  assert.equal(t.app.board.size, 0);
});

Deno.test("with UPLOAD_TOKEN the page asks for the token, then uploads a picked and a dropped file with it", async () => {
  const token = "a-long-enough-upload-token";
  await using t = await testApp(["--upload-token", token]);
  await withTempDir(async (dir) => {
    const path = join(dir, "small.bin");
    await writeRandomFile(path, MIB);
    const expected = await hashFile(path);
    await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
      await page.goto(`${origin}/upload`);
      const refused = await uploadThroughPage(page, path);
      assert.match(refused.status, /^Upload failed: .*Bearer/);
      assert.equal(await page.locator("#token-box").getAttribute("open"), "");
      // The one refusal was the event stream's 401 (the status is its
      // problem's detail); it was asked by the tabs' shared worker, whose
      // requests the page does not see: nothing of the page failed.
      for (const problem of problems) {
        assert.match(problem, /401|Unauthorized/, problem);
      }
      problems.length = 0;
      await page.fill("#token", token);
      const stored = await uploadThroughPage(page, path);
      assert.equal(stored.status, "Stored small.bin.", stored.status);
      assert.equal(stored.sha256, expected.sha256);
      assert.match(stored.verdict, /-bound/);
      // The page's download link saves the file under the name it had,
      // not as its id.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.click("#download"),
      ]);
      assert.equal(download.suggestedFilename(), "small.bin");
      assert.deepEqual(await hashFile(await download.path()), expected);

      // A file dropped on the drop zone goes the same way.
      const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
      const dropped = await uploadThroughPage(page, async () => {
        const dataTransfer = await page.evaluateHandle(`(() => {
          const bytes = Uint8Array.from({ length: 300000 }, (_, i) => i % 251);
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], "dropped.bin"));
          return transfer;
        })()`);
        await page.dispatchEvent("#drop", "drop", { dataTransfer });
      });
      assert.equal(dropped.status, "Stored dropped.bin.", dropped.status);
      assert.equal(dropped.sha256, sha256Hex(bytes));
      assert.deepEqual(problems, []);
    }, { browser: browser() });
  });
  assert.equal(t.app.watchers.count, 0);
});
