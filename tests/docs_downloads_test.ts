/**
 * "Try it out" of `GET /files/{id}` on the docs page, in Debian's chromium:
 * Swagger UI shows a downloaded image as an `<img>` of a `blob:` URL it
 * makes of the body, and audio as an `<audio>` whose source is the request's
 * URL. The page's Content-Security-Policy must let both load (it blocked
 * them: `img-src 'self' data:` has no `blob:`, and no `media-src` left
 * audio to `default-src 'none'`), with no console error.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`), and `-A`
 * (playwright-core under `deno test`).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { until } from "./fixtures/until.ts";
import { revealOperation } from "./fixtures/swagger_ui.ts";

const WAIT_MS = 15_000;
/**
 * The page's first render: Swagger UI parses its 1.5 MB bundle and lays
 * out every operation, which took over 15 s in chromium at a load average
 * of 33 on 2 cores (the test timed out there, on main as well).
 */
const FIRST_RENDER_MS = 60_000;

/** Where the page shows the answer of a try of `GET /files/{id}`. */
const SHOWN = "#operations-files-downloadFile .live-responses-table";

/** What the test reads of the `<img>` and `<audio>` the page shows. */
interface Shown {
  naturalWidth: number;
  readyState: number;
}

/** A 2x2 red PNG. */
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** A tenth of a second of 8-bit mono silence at 8 kHz, as a WAV file. */
function silentWav(): Uint8Array<ArrayBuffer> {
  const samples = 800;
  const wav = new Uint8Array(44 + samples).fill(128, 44);
  const view = new DataView(wav.buffer);
  const text = (at: number, s: string) =>
    [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, 8000, true); // samples per second
  view.setUint32(28, 8000, true); // bytes per second
  view.setUint16(32, 1, true); // block align
  view.setUint16(34, 8, true); // bits per sample
  text(36, "data");
  view.setUint32(40, samples, true);
  return wav;
}

/** Stores `body` raw with `type` and returns its id. */
async function store(
  origin: string,
  body: Uint8Array<ArrayBuffer>,
  type: string,
): Promise<string> {
  const res = await fetch(`${origin}/files`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

/** Executes `GET /files/{id}` from the docs page with `id`. */
async function tryDownload(page: Page, id: string): Promise<void> {
  const op = await revealOperation(page, "#operations-files-downloadFile");
  const input = op.locator('tr[data-param-name="id"] input');
  if (!await input.isVisible()) {
    await op.locator(".opblock-summary-control").click();
  }
  await input.waitFor({ timeout: WAIT_MS });
  await input.fill(id);
  await op.locator("button.execute").click();
}

Deno.test("the docs page shows a downloaded image and plays downloaded audio, within its CSP", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
    const image = await store(origin, PNG, "image/png");
    const audio = await store(origin, silentWav(), "audio/wav");
    await page.goto(`${origin}/docs`, {
      waitUntil: "load",
      timeout: FIRST_RENDER_MS,
    });
    await page.locator(".opblock").first().waitFor({
      timeout: FIRST_RENDER_MS,
    });

    await tryDownload(page, image);
    // Decoded: the image loaded (a blocked one has no natural size).
    const img = page.locator(`${SHOWN} img`);
    await until(
      async () =>
        await img.count() === 1 &&
        await img.evaluate((el) => (el as unknown as Shown).naturalWidth) === 2,
      "the downloaded image shown",
    );

    await tryDownload(page, audio);
    // Its metadata read: the file was fetched and decoded.
    const player = page.locator(`${SHOWN} audio`);
    await until(
      async () =>
        await player.count() === 1 &&
        await player.evaluate((el) => (el as unknown as Shown).readyState) >= 1,
      "the downloaded audio loaded",
    );
    assert.deepEqual(problems, []);
  });
});
