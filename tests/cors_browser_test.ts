/**
 * CORS in a real browser: Debian's chromium loads a page from a second loopback
 * origin (a tiny `Deno.serve` of its own port), and the page's script calls the
 * service, fronting the real JSONPlaceholder, cross-origin as a front-end app
 * does: a list whose `ETag`, `X-Request-Id` and `Cache-Status` it reads (and
 * whose Server-Timing its Resource Timing entry shows), a page of it with
 * `X-Total-Count` and `Link`, a 304 (asked for, and the browser cache's own
 * revalidation), a preflighted `PUT` of JSON, a 404 problem whose body it
 * reads, an upload of a `Blob` read back from its `Location`, and
 * `/openapi.json` (as Swagger UI hosted elsewhere reads it). Each must succeed;
 * no console error, no failed request. And writes to a path with a trailing
 * slash (`/posts/`), which JSONPlaceholder takes as the path without it: the
 * browser preflights them and follows the 308.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chromiumPerFile } from "./fixtures/chromium.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

// The page's script: what a front-end app does with the API at `api`.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cors</title>
<link rel="icon" href="data:,"></head><body>
<script>
async function run(api) {
  const out = {};
  const list = await fetch(api + "/posts");
  out.list = {
    status: list.status,
    length: (await list.json()).length,
    etag: list.headers.get("etag"),
    requestId: list.headers.get("x-request-id"),
    cacheStatus: list.headers.get("cache-status"),
  };
  // Resource Timing: Server-Timing reaches the page only with
  // Timing-Allow-Origin (a cross-origin entry is otherwise emptied).
  const timing = performance.getEntriesByName(list.url)[0];
  out.timing = {
    serverTiming: timing.serverTiming.map((entry) => entry.name),
    responseStart: timing.responseStart,
  };
  const paged = await fetch(api + "/posts?_page=2&_limit=10");
  out.paged = {
    length: (await paged.json()).length,
    totalCount: paged.headers.get("x-total-count"),
    link: paged.headers.get("link"),
  };
  const asked = await fetch(api + "/posts", {
    headers: { "if-none-match": out.list.etag },
  });
  out.asked304 = asked.status;
  await asked.arrayBuffer();
  const revalidated = await fetch(api + "/posts", { cache: "no-cache" });
  out.revalidated = {
    status: revalidated.status,
    length: (await revalidated.json()).length,
  };
  const put = await fetch(api + "/posts/1", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: 1, title: "t", body: "b", userId: 1 }),
  });
  out.put = { status: put.status, body: await put.json() };
  const missing = await fetch(api + "/posts/0/nothing");
  out.missing = { status: missing.status, body: await missing.json() };
  const bytes = new Uint8Array(100000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
  const upload = await fetch(api + "/files", {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: new Blob([bytes]),
  });
  const location = upload.headers.get("location");
  out.upload = {
    status: upload.status,
    location,
    digest: upload.headers.get("repr-digest"),
  };
  const back = new Uint8Array(await (await fetch(api + location)).arrayBuffer());
  out.upload.same = back.length === bytes.length &&
    back.every((b, i) => b === bytes[i]);
  // What Swagger UI or Redocly hosted elsewhere does.
  out.spec = (await (await fetch(api + "/openapi.json")).json()).openapi;
  return out;
}
</script></body></html>`;

// A page writing to paths with a trailing slash, as it may to JSONPlaceholder.
const SLASHED_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>slashed</title>
<link rel="icon" href="data:,"></head><body>
<script>
async function run(api, withFiles) {
  const json = { "content-type": "application/json" };
  const tried = [
    ["POST", "/posts/", json, JSON.stringify({ title: "t", userId: 1 })],
    ["PUT", "/posts/1/", json, JSON.stringify({ title: "u", userId: 1 })],
    ["DELETE", "/posts/1/", {}, undefined],
  ];
  if (withFiles) {
    tried.push(["POST", "/files/", { "content-type": "application/octet-stream" },
      new Blob([new Uint8Array(1000)])]);
  }
  const out = [];
  for (const [method, path, headers, body] of tried) {
    try {
      const res = await fetch(api + path, { method, headers, body });
      await res.arrayBuffer();
      out.push([method, path, res.status, new URL(res.url).pathname]);
    } catch (error) {
      out.push([method, path, String(error)]);
    }
  }
  return out;
}
</script></body></html>`;

/** One chromium for this file's tests, each in a fresh context. */
const browser = chromiumPerFile();

/** Serves `html` on a second loopback origin and opens it in chromium. */
async function openSite(html: string) {
  const site = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(html, {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  );
  // A fresh context: no preflight or HTTP cache of another test.
  const context = await browser().newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error}`));
  page.on("requestfailed", (request) =>
    problems.push(
      `request failed: ${request.url()} ${request.failure()?.errorText}`,
    ));
  const origin = `http://127.0.0.1:${site.addr.port}`;
  assert.equal((await page.goto(`${origin}/`))?.status(), 200);
  return {
    origin,
    page,
    problems,
    async [Symbol.asyncDispose]() {
      await context.close();
      await site.shutdown();
    },
  };
}

Deno.test("a page on another origin writes to paths with a trailing slash as to JSONPlaceholder: the preflight is answered, the 308 followed", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  await using site = await openSite(SLASHED_PAGE);
  const run = (api: string, withFiles: boolean) =>
    site.page.evaluate(
      ([api, withFiles]) =>
        (globalThis as unknown as {
          run(api: string, withFiles: boolean): unknown;
        }).run(api, withFiles),
      [api, withFiles] as const,
    );
  // JSONPlaceholder itself, called cross-origin, takes these writes.
  assert.deepEqual(await run(upstream.url, false), [
    ["POST", "/posts/", 201, "/posts/"],
    ["PUT", "/posts/1/", 200, "/posts/1/"],
    ["DELETE", "/posts/1/", 200, "/posts/1/"],
  ]);
  // Through the service the browser follows the 308 (the preflight of a
  // redirect's target is its own), where a redirected preflight is a
  // network error: "Redirect is not allowed for a preflight request".
  assert.deepEqual(await run(service.url, true), [
    ["POST", "/posts/", 201, "/posts"],
    ["PUT", "/posts/1/", 200, "/posts/1"],
    ["DELETE", "/posts/1/", 200, "/posts/1"],
    // An upload's slashed path is the upload itself: a 308 would have the
    // body sent again (and from a pipe, `curl -T - URL/`, not at all).
    ["POST", "/files/", 201, "/files/"],
  ]);
  const logged = (method: string, path: string) =>
    service.records.filter((r) =>
      r.msg === "request" && r.method === method && r.path === path
    ).map((r) => r.status);
  assert.deepEqual(logged("OPTIONS", "/posts/"), [204]);
  assert.deepEqual(logged("POST", "/posts/"), [308]);
  assert.deepEqual(logged("OPTIONS", "/files/"), [204]);
  assert.deepEqual(logged("POST", "/files/"), [201]);
  assert.deepEqual(site.problems, [], site.problems.join("\n"));
});

Deno.test("a page on another origin uses the API in chromium: list, 304, preflighted PUT, 404 problem, upload", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  await using site = await openSite(PAGE);
  const { page, problems } = site;
  assert.notEqual(site.origin, service.url);
  const out = await page.evaluate(
    (api) => (globalThis as unknown as { run(api: string): unknown }).run(api),
    service.url,
  ) as Record<string, Record<string, unknown>> & { asked304: number };

  assert.equal(out.list!.status, 200);
  assert.equal(out.list!.length, 100);
  assert.match(String(out.list!.etag), /^(W\/)?"/);
  assert.match(String(out.list!.requestId), /^[0-9a-f-]{36}$/);
  assert.match(String(out.list!.cacheStatus), /^async-api; /);
  assert.ok(
    (out.timing!.serverTiming as string[]).length > 0,
    "serverTiming",
  );
  assert.ok(Number(out.timing!.responseStart) > 0, "detailed timing");
  // json-server's pagination headers, exposed to the page.
  assert.equal(out.paged!.length, 10);
  assert.equal(out.paged!.totalCount, "100");
  assert.match(String(out.paged!.link), /_page=3[^>]*>; rel="next"/);
  assert.equal(out.asked304, 304);
  assert.deepEqual(out.revalidated, { status: 200, length: 100 });
  assert.equal(out.put!.status, 200);
  assert.equal((out.put!.body as { title: string }).title, "t");
  assert.equal(out.missing!.status, 404);
  assert.equal((out.missing!.body as { status: number }).status, 404);
  assert.equal(out.upload!.status, 201);
  assert.match(String(out.upload!.location), /^\/files\/[0-9a-f]{32}$/);
  assert.match(String(out.upload!.digest), /^sha-256=:/);
  assert.equal(out.upload!.same, true);
  assert.match(String(out.spec), /^3\./);
  // The browser revalidated its cached copy itself (a 304 it turned
  // into the 200 above), and preflighted the PUT and the upload.
  const logged = (method: string, path: string, status: number) =>
    service.records.filter((r) =>
      r.msg === "request" && r.method === method && r.path === path &&
      r.status === status
    ).length;
  assert.ok(logged("GET", "/posts", 304) >= 2, "a 304 asked, one by cache");
  assert.equal(logged("OPTIONS", "/posts/1", 204), 1);
  assert.equal(logged("OPTIONS", "/files", 204), 1);
  assert.deepEqual(
    problems.filter((p) => !p.includes("404")),
    [],
    problems.join("\n"),
  );
});
