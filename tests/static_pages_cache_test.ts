/**
 * Tests of how the pages the service serves itself (`/docs`, `/upload`, their
 * assets, `/openapi.json`) are cached downstream. They change with each
 * release under the same URLs, so a browser must revalidate them, never keep
 * an old copy for a day (old Swagger UI files against a new page and
 * document), and revalidating must be cheap: each carries a strong `ETag`
 * and is answered `304` while it is the same. Checked over `app.fetch`,
 * then in chromium, whose second visit must revalidate every one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { launchChromium } from "./fixtures/chromium.ts";
import { DATED_PATHS } from "./fixtures/text_dates.ts";

/** The pages and assets the service serves as they are. */
const STATIC_PATHS = [...DATED_PATHS, "/openapi.json"];

Deno.test("pages and assets: no-cache, a strong ETag, 304 on If-None-Match, also for their gzip form", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (const path of STATIC_PATHS) {
    const res = await t.get(path);
    const body = await res.arrayBuffer();
    assert.equal(res.status, 200, path);
    assert.ok(body.byteLength > 0, path);
    assert.equal(res.headers.get("cache-control"), "no-cache", path);
    const etag = res.headers.get("etag");
    assert.match(etag ?? "", /^"[A-Za-z0-9_-]{22}"$/, path);

    const again = await t.get(path, { headers: { "if-none-match": etag! } });
    assert.equal(again.status, 304, path);
    assert.equal(again.headers.get("etag"), etag, path);
    assert.equal(again.headers.get("cache-control"), "no-cache", path);
    assert.equal(await again.text(), "", path);

    const other = await t.get(path, {
      headers: { "if-none-match": '"somethingelse"' },
    });
    assert.equal(other.status, 200, path);
    await other.body?.cancel();

    const gzip = await t.get(path, { headers: { "accept-encoding": "gzip" } });
    await gzip.body?.cancel();
    assert.equal(gzip.status, 200, path);
    if (gzip.headers.get("content-encoding") === "gzip") {
      const weak = gzip.headers.get("etag")!;
      assert.equal(weak, `W/${etag}`, path);
      const revalidated = await t.get(path, {
        headers: { "accept-encoding": "gzip", "if-none-match": weak },
      });
      assert.equal(revalidated.status, 304, path);
      await revalidated.body?.cancel();
    }
  }
  assert.equal(upstream.hits(), 0);
});

Deno.test("chromium revalidates the docs page and its assets on a second visit and gets 304s", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const answered: { path: string; status: number; conditional: boolean }[] = [];
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const res = await t.app.fetch(req);
      answered.push({
        path: new URL(req.url).pathname,
        status: res.status,
        conditional: req.headers.has("if-none-match"),
      });
      return res;
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launchChromium();
  try {
    // Not withChromiumPage: its request routing (which refuses outside
    // requests) turns chromium's HTTP cache off, and the cache is what is
    // tested here. The page's CSP allows this origin only.
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const visit = async () => {
      const response = await page.goto(`${origin}/docs`, { waitUntil: "load" });
      assert.equal(response?.status(), 200);
      await page.locator("#operations-posts-getPost").waitFor();
    };
    await visit();
    const first = answered.splice(0);
    assert.ok(first.every((a) => a.status === 200), JSON.stringify(first));
    // Away and back, as a user returning to the page.
    await page.goto("about:blank");
    await visit();
    const second = answered.splice(0);
    for (const path of STATIC_PATHS.filter((p) => !p.includes("upload"))) {
      const seen = second.filter((a) => a.path === path);
      assert.ok(
        seen.length > 0 &&
          seen.every((a) => a.conditional && a.status === 304),
        `${path}: ${JSON.stringify(second)}`,
      );
    }
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await browser.close();
  }
});
