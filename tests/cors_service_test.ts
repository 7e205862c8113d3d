/**
 * CORS across the whole service, over loopback HTTP in front of the real
 * JSONPlaceholder (npm `jsonplaceholder`, under Node): every route family
 * (lists, items, 304s, writes, uploads, downloads, progress, `/metrics`,
 * `/openapi.json`, problems 400/404/405/413) answers a request with
 * `Origin` with the CORS headers and `Vary: Origin`, one without `Origin`
 * with no CORS header; preflights of the writes a page makes answer 204.
 *
 * @module
 */

import assert from "node:assert/strict";
import { EXPOSED_HEADERS } from "../services/http/cors.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

const ORIGIN = "http://localhost:5173";

function varies(res: Response): boolean {
  return /(?:^|,)\s*origin\s*(?:,|$)/i.test(res.headers.get("vary") ?? "");
}

/** `res` as a page on another origin may read it. */
function assertCors(res: Response, what: string): void {
  assert.equal(res.headers.get("access-control-allow-origin"), "*", what);
  assert.equal(
    res.headers.get("access-control-expose-headers"),
    EXPOSED_HEADERS,
    what,
  );
  assert.ok(varies(res), `${what}: Vary ${res.headers.get("vary")}`);
}

Deno.test("every route family answers CORS requests, errors too, and no other", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url, "--max-upload-bytes", "4096"],
  });
  const call = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("origin", ORIGIN);
    const res = await fetch(service.url + path, { ...init, headers });
    return { res, body: await res.text() };
  };

  const list = await call("/posts");
  assertCors(list.res, "list");
  assert.equal(JSON.parse(list.body).length, 100);
  const item = await call("/posts/1");
  assertCors(item.res, "item");
  const etag = item.res.headers.get("etag")!;
  const hit = await call("/posts/1", { headers: { "if-none-match": etag } });
  assert.equal(hit.res.status, 304);
  assertCors(hit.res, "304");

  const put = await call("/posts/1", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: 1, title: "t", body: "b", userId: 1 }),
  });
  assert.equal(put.res.status, 200);
  assertCors(put.res, "PUT");
  const post = await call("/posts", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "t", body: "b", userId: 1 }),
  });
  assert.equal(post.res.status, 201);
  assertCors(post.res, "POST");

  const bytes = crypto.getRandomValues(new Uint8Array(2048));
  const upload = await call("/files", {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: bytes,
  });
  assert.equal(upload.res.status, 201, upload.body);
  assertCors(upload.res, "upload");
  const location = upload.res.headers.get("location")!;
  const download = await call(location, { headers: { range: "bytes=0-9" } });
  assert.equal(download.res.status, 206);
  assertCors(download.res, "download");

  for (const path of ["/files", "/uploads", "/metrics", "/openapi.json"]) {
    const res = await call(path);
    assert.equal(res.res.status, 200, path);
    assertCors(res.res, path);
  }
  // The progress stream: its head is what a page's EventSource needs.
  const events = await fetch(`${service.url}/uploads/events`, {
    headers: { origin: ORIGIN },
  });
  assert.equal(events.status, 200);
  assertCors(events, "events");
  await events.body?.cancel();

  const problems: [string, RequestInit, number][] = [
    ["/nowhere", {}, 404],
    ["/posts/abc", {}, 400],
    ["/posts/1/comments", { method: "DELETE" }, 405],
    ["/files", { method: "POST", body: new Uint8Array(8192) }, 413],
  ];
  for (const [path, init, status] of problems) {
    const res = await call(path, init);
    assert.equal(res.res.status, status, path);
    assert.equal(JSON.parse(res.body).status, status, path);
    assertCors(res.res, `${status} ${path}`);
  }

  // Without Origin: no CORS header, but the same Vary.
  const plain = await fetch(`${service.url}/posts/1`);
  await plain.body?.cancel();
  assert.equal(plain.headers.get("access-control-allow-origin"), null);
  assert.equal(plain.headers.get("access-control-expose-headers"), null);
  assert.equal(plain.headers.get("vary"), "Accept-Encoding, Origin");
});

Deno.test("preflights of what pages send answer 204; plain OPTIONS gets Allow; unknown paths 404", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const preflight = async (path: string, method: string, headers = "") => {
    const res = await fetch(service.url + path, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": method,
        ...(headers === ""
          ? {}
          : { "access-control-request-headers": headers }),
      },
    });
    await res.body?.cancel();
    return res;
  };
  const cases: [string, string, string][] = [
    ["/posts/1", "PUT", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"],
    ["/posts", "POST", "GET, HEAD, OPTIONS, POST"],
    ["/files", "POST", "GET, HEAD, OPTIONS, POST, PUT"],
    ["/openapi.json", "GET", "GET, HEAD, OPTIONS"],
  ];
  for (const [path, method, allow] of cases) {
    const res = await preflight(path, method, "content-type, authorization");
    assert.equal(res.status, 204, path);
    assert.equal(res.headers.get("access-control-allow-origin"), "*", path);
    assert.equal(res.headers.get("access-control-allow-methods"), allow, path);
    assert.equal(
      res.headers.get("access-control-allow-headers"),
      "content-type, authorization",
      path,
    );
    assert.equal(res.headers.get("access-control-max-age"), "7200", path);
    assert.match(res.headers.get("vary")!, /Access-Control-Request-Method/);
  }
  // A method the path lacks: 204 naming the ones it has (the browser
  // refuses, saying which method).
  const wrong = await preflight("/users/1/posts", "DELETE");
  assert.equal(wrong.status, 204);
  assert.equal(
    wrong.headers.get("access-control-allow-methods"),
    "GET, HEAD, OPTIONS, POST",
  );
  const junk = await preflight("/posts/1", "PUT", "content type");
  assert.equal(junk.status, 400);
  assert.equal(junk.headers.get("access-control-allow-origin"), "*");
  const unknown = await preflight("/nowhere", "GET");
  assert.equal(unknown.status, 404);

  const plain = await fetch(`${service.url}/posts/1`, { method: "OPTIONS" });
  await plain.body?.cancel();
  assert.equal(plain.status, 204);
  assert.equal(
    plain.headers.get("allow"),
    "DELETE, GET, HEAD, OPTIONS, PATCH, PUT",
  );
  assert.equal(plain.headers.get("access-control-allow-origin"), null);
  assert.equal(service.records.filter((r) => r.status === 405).length, 0);
});
