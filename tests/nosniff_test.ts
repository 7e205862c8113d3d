/**
 * `X-Content-Type-Options: nosniff`, per kind of answer, over real
 * requests (routes/finish.ts). Only downloads and the pages said it: the
 * problems (which name the client's path), the listings, the probes,
 * `/metrics` (`text/plain`, a type browsers do sniff), the event stream
 * and the writes went without, and OWASP ZAP's rule 10021 flags each such
 * answer with a body. The JSONPlaceholder answers from the cache go
 * without by choice: `application/json` is not sniffed, and the header
 * cost a cached hit 6 % more CPU (the module doc of routes/finish.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { OVER_CAP, overCapAnswer } from "../services/server/over_cap.ts";
import { internalErrorAnswer } from "../services/server/internal_error.ts";

/** The answer's status, type and `X-Content-Type-Options`, body read. */
async function head(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  await res.body?.cancel();
  return {
    status: res.status,
    type: res.headers.get("content-type")?.split(";")[0],
    nosniff: res.headers.get("x-content-type-options"),
  };
}

Deno.test("every answer but the cached JSON says nosniff: problems, probes, listings, metrics, writes, pages, downloads", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const url = served.url;
  const stored = await fetch(`${url}/files`, {
    method: "POST",
    headers: { "content-type": "text/html" },
    body: "<script>alert(1)</script>",
  });
  const { id } = await stored.json();
  assert.equal(stored.headers.get("x-content-type-options"), "nosniff");
  const answers: [string, RequestInit | undefined, number, string][] = [
    ["/nope", undefined, 404, "application/problem+json"],
    [
      "/files/00000000000000000000000000000000",
      undefined,
      404,
      "application/problem+json",
    ],
    [
      "/files",
      { method: "POST", headers: { "content-encoding": "x" } },
      415,
      "application/problem+json",
    ],
    ["/healthz", undefined, 200, "application/json"],
    ["/files", undefined, 200, "application/json"],
    ["/uploads", undefined, 200, "application/json"],
    ["/metrics", undefined, 200, "text/plain"],
    ["/docs", undefined, 200, "text/html"],
    ["/upload", undefined, 200, "text/html"],
    ["/openapi.json", undefined, 200, "application/json"],
    [
      "/posts",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"title":"x"}',
      },
      201,
      "application/json",
    ],
    [`/files/${id}`, undefined, 200, "application/octet-stream"],
    [
      `/files/${id}`,
      { headers: { range: "bytes=0-3" } },
      206,
      "application/octet-stream",
    ],
    [`/files/${id}`, { method: "HEAD" }, 200, "application/octet-stream"],
  ];
  for (const [path, init, status, type] of answers) {
    const method = init?.method ?? "GET";
    assert.deepEqual(
      await head(`${url}${path}`, init),
      { status, type, nosniff: "nosniff" },
      `${method} ${path}`,
    );
  }
  // A page's 304 too, and the event stream's head.
  const page = await fetch(`${url}/docs`);
  await page.body?.cancel();
  const etag = page.headers.get("etag")!;
  const revalidated = await head(`${url}/docs`, {
    headers: { "if-none-match": etag },
  });
  assert.deepEqual(revalidated, {
    status: 304,
    type: undefined,
    nosniff: "nosniff",
  });
  const events = await fetch(`${url}/uploads/events?id=${id}`);
  assert.equal(events.headers.get("x-content-type-options"), "nosniff");
  await events.body?.cancel();
  // The cached JSON, miss and hit: without, by choice (see the module doc).
  for (const round of ["miss", "hit"]) {
    assert.deepEqual(await head(`${url}/posts/1`), {
      status: 200,
      type: "application/json",
      nosniff: null,
    }, round);
  }
});

Deno.test("the connection layer's answers say nosniff too: the 503 over the cap (bytes and Response) and the last-resort 500", async () => {
  // Their problem bodies go out without the app's finishing (routes/
  // finish.ts), which alone set the header: they went without it.
  const wire = new TextDecoder().decode(OVER_CAP);
  const head = wire.slice(0, wire.indexOf("\r\n\r\n")).split("\r\n");
  assert.ok(head.includes("x-content-type-options: nosniff"), wire);
  for (const res of [overCapAnswer(), internalErrorAnswer()]) {
    await res.body?.cancel();
    assert.equal(
      res.headers.get("x-content-type-options"),
      "nosniff",
      String(res.status),
    );
  }
});
