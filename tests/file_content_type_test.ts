/**
 * A download is served as the type its uploader declared (a raw body's
 * `Content-Type`, a form part's), with `X-Content-Type-Options: nosniff`,
 * unless a browser would run it: HTML, SVG and other XML, script and CSS
 * go out as `application/octet-stream`, so a page uploaded by one user and
 * opened by another in a browser does not run on the service's origin
 * (chromium, below). Before, every download was `application/octet-stream`
 * and a raw body's type was not even kept. On disk, on S3 (real Ceph), and
 * after a restart (the type is in the stored metadata).
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";

type Fetch = (req: Request) => Response | Promise<Response>;

async function upload(
  fetch: Fetch,
  body: BodyInit,
  type?: string,
): Promise<{ id: string; contentType?: string }> {
  const res = await fetch(
    new Request("http://localhost/files", {
      method: "POST",
      body,
      ...(type === undefined ? {} : { headers: { "content-type": type } }),
    }),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

async function served(fetch: Fetch, id: string) {
  const res = await fetch(new Request(`http://localhost/files/${id}`));
  await res.body?.cancel();
  assert.equal(res.status, 200);
  return {
    type: res.headers.get("content-type"),
    nosniff: res.headers.get("x-content-type-options"),
    disposition: res.headers.get("content-disposition"),
  };
}

const AS_DECLARED: [string, string][] = [
  ["image/png", "image/png"],
  ["Text/Plain; charset=UTF-8; x=1", "text/plain; charset=utf-8"],
  ["application/pdf", "application/pdf"],
  ["application/json", "application/json"],
  ["video/mp4", "video/mp4"],
];
const ACTIVE = [
  "text/html",
  "text/html; charset=utf-8",
  "image/svg+xml",
  "application/xhtml+xml",
  "text/xml",
  "application/xml",
  "text/javascript",
  "application/javascript",
  "text/css",
];

Deno.test("downloads carry the declared type with nosniff; active types, none or a bad one are octet-stream", async () => {
  await using t = await testApp([]);
  const fetch = t.app.fetch;
  for (const [declared, kept] of AS_DECLARED) {
    const { id, contentType } = await upload(fetch, "x", declared);
    assert.equal(contentType, kept, declared);
    assert.deepEqual(await served(fetch, id), {
      type: kept,
      nosniff: "nosniff",
      disposition: null,
    }, declared);
  }
  for (const declared of ACTIVE) {
    const { id, contentType } = await upload(fetch, "<p>x</p>", declared);
    // Listed as declared, served opaque.
    assert.equal(contentType, declared, declared);
    assert.equal((await served(fetch, id)).type, "application/octet-stream");
  }
  for (const declared of [undefined, "nonsense", "a/b/c"]) {
    const { id, contentType } = await upload(
      fetch,
      new Uint8Array(3),
      declared,
    );
    assert.equal(contentType, undefined, declared);
    assert.deepEqual(await served(fetch, id), {
      type: "application/octet-stream",
      nosniff: "nosniff",
      disposition: null,
    });
  }
  // A form's part: its type, and its name as an attachment, as before.
  const form = new FormData();
  form.append(
    "file",
    new Blob(["%PDF-1.4"], { type: "application/pdf" }),
    "a.pdf",
  );
  const { id } = await upload(fetch, form);
  assert.deepEqual(await served(fetch, id), {
    type: "application/pdf",
    nosniff: "nosniff",
    disposition: "attachment; filename=a.pdf",
  });
  const head = await fetch(
    new Request(`http://localhost/files/${id}`, {
      method: "HEAD",
      headers: { range: "bytes=0-1" },
    }),
  );
  assert.equal(head.status, 206);
  assert.equal(head.headers.get("content-type"), "application/pdf");
});

const PAGE = "<title>kept</title><script>document.title = 'ran'</script>";

Deno.test("chromium: an HTML page uploaded by one user does not run when another opens it; an image shows", async () => {
  await using t = await testApp([]);
  const fetch = t.app.fetch;
  const html = await upload(fetch, PAGE, "text/html");
  const text = await upload(fetch, PAGE, "text/plain");
  // A 1x1 PNG.
  const png = Uint8Array.from(
    atob(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
    ),
    (c) => c.charCodeAt(0),
  );
  const image = await upload(fetch, png, "image/png");
  await withChromiumPage(
    (req) => t.app.fetch(req),
    async ({ origin, page }) => {
      // Opened, it is downloaded, not shown: no script of it runs.
      const opened = await page.goto(`${origin}/files/${html.id}`).then(
        () => "shown",
        (error: Error) => error.message,
      );
      assert.match(opened, /Download is starting/);
      assert.notEqual(await page.title(), "ran");
      // The same bytes declared text/plain are shown as text.
      await page.goto(`${origin}/files/${text.id}`);
      assert.equal(await page.title(), "");
      assert.match(await page.textContent("body") ?? "", /document\.title/);
      // An image is shown as one.
      const src = JSON.stringify(`${origin}/files/${image.id}`);
      const width = await page.evaluate(`(async () => {
      const img = new Image();
      img.src = ${src};
      await img.decode();
      return img.naturalWidth;
    })()`);
      assert.equal(width, 1);
    },
  );
});

cephTest(
  "s3: the declared type is kept with the file and served, after a restart too",
  async () => {
    await using ceph = await sharedCeph();
    let id: string;
    {
      await using a = await serveApp({ args: s3Args(ceph) });
      const res = await globalThis.fetch(`${a.url}/files`, {
        method: "POST",
        body: "x",
        headers: { "content-type": "image/webp" },
      });
      assert.equal(res.status, 201);
      id = (await res.json()).id;
      const got = await globalThis.fetch(`${a.url}/files/${id}`);
      await got.body?.cancel();
      assert.equal(got.headers.get("content-type"), "image/webp");
    }
    await using b = await serveApp({ args: s3Args(ceph) });
    const got = await globalThis.fetch(`${b.url}/files/${id}`);
    assert.equal(await got.text(), "x");
    assert.equal(got.headers.get("content-type"), "image/webp");
    assert.equal(got.headers.get("x-content-type-options"), "nosniff");
  },
);
