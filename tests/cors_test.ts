/**
 * CORS rules (services/http/cors.ts) and the pipeline that applies them to
 * every answer (routes/pipeline.ts): plain handlers, a `Reply` (the hot
 * path), a `Response`, a thrown error, a 404 and a 405, `OPTIONS` and
 * preflights, each with and without `Origin`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createPipeline, type Pipeline } from "../routes/pipeline.ts";
import {
  corsHeaders,
  corsRecord,
  EXPOSED_HEADERS,
  optionsAnswer,
  PREFLIGHT_MAX_AGE_SECONDS,
  requestedHeaders,
  varyWithOrigin,
} from "../services/http/cors.ts";
import { silentLogger } from "../services/ops/logger.ts";
import { Metrics } from "../services/ops/metrics.ts";

const ORIGIN = "http://localhost:5173";
const BODY = new TextEncoder().encode(JSON.stringify({ id: 1, text: "x" }));

Deno.test("varyWithOrigin adds Origin once, keeps * and what is there", () => {
  assert.equal(varyWithOrigin(undefined), "Origin");
  assert.equal(varyWithOrigin(null), "Origin");
  assert.equal(varyWithOrigin(""), "Origin");
  assert.equal(varyWithOrigin("Accept-Encoding"), "Accept-Encoding, Origin");
  assert.equal(varyWithOrigin("Accept"), "Accept, Origin");
  assert.equal(varyWithOrigin("origin"), "origin");
  assert.equal(varyWithOrigin("Accept, Origin "), "Accept, Origin ");
  assert.equal(varyWithOrigin("*"), "*");
  // A name that merely contains "origin" is another field.
  assert.equal(varyWithOrigin("X-Origin-Hint"), "X-Origin-Hint, Origin");
});

Deno.test("corsRecord: Vary always, the CORS headers only with an Origin", () => {
  const plain: Record<string, string> = { vary: "Accept-Encoding" };
  corsRecord(plain, null);
  assert.deepEqual(plain, { vary: "Accept-Encoding, Origin" });
  const cross: Record<string, string> = {};
  corsRecord(cross, ORIGIN);
  assert.deepEqual(cross, {
    vary: "Origin",
    "access-control-allow-origin": "*",
    "access-control-expose-headers": EXPOSED_HEADERS,
    "timing-allow-origin": "*",
  });
  for (
    const name of ["ETag", "X-Request-Id", "Location", "Repr-Digest", "Link"]
  ) {
    assert.ok(EXPOSED_HEADERS.split(", ").includes(name), name);
  }
});

Deno.test("corsHeaders sets on a Response's headers what corsRecord sets on a record", () => {
  for (const vary of [undefined, "Accept-Encoding", "Origin", "*"]) {
    for (const origin of [null, ORIGIN]) {
      const start: Record<string, string> = {
        "content-type": "application/json",
        ...(vary === undefined ? {} : { vary }),
      };
      const record = { ...start };
      corsRecord(record, origin);
      const headers = new Headers(start);
      corsHeaders(headers, origin);
      assert.deepEqual(
        Object.fromEntries(headers),
        record,
        `${vary} ${origin}`,
      );
    }
  }
});

Deno.test("requestedHeaders: tokens lower-cased and joined, junk refused", () => {
  assert.equal(requestedHeaders(null), "");
  assert.equal(requestedHeaders(""), "");
  assert.equal(
    requestedHeaders("Content-Type, authorization,,x-request-id"),
    "content-type, authorization, x-request-id",
  );
  assert.equal(requestedHeaders("content type"), undefined);
  assert.equal(requestedHeaders("x-a, (x)"), undefined);
  assert.equal(requestedHeaders("x-é"), undefined);
  const many = Array.from({ length: 65 }, (_, i) => `x-${i}`).join(",");
  assert.equal(requestedHeaders(many), undefined);
});

function options(headers: Record<string, string>): Request {
  return new Request("http://localhost/posts/1", {
    method: "OPTIONS",
    headers,
  });
}

Deno.test("optionsAnswer: plain OPTIONS gets Allow, a preflight the CORS answer", async () => {
  const allow = "DELETE, GET, HEAD, OPTIONS, PATCH, PUT";
  const plain = optionsAnswer(options({}), allow, "/posts/1");
  assert.equal(plain.status, 204);
  assert.equal(plain.headers.get("allow"), allow);
  assert.equal(plain.headers.get("access-control-allow-methods"), null);
  // Origin alone is no preflight (RFC 9110 OPTIONS from a page's fetch).
  const originOnly = optionsAnswer(
    options({ origin: ORIGIN }),
    allow,
    "/posts/1",
  );
  assert.equal(originOnly.headers.get("access-control-max-age"), null);

  const preflight = optionsAnswer(
    options({
      origin: ORIGIN,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type,x-request-id",
    }),
    allow,
    "/posts/1",
  );
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-methods"), allow);
  assert.equal(
    preflight.headers.get("access-control-allow-headers"),
    "content-type, x-request-id",
  );
  assert.equal(
    preflight.headers.get("access-control-max-age"),
    String(PREFLIGHT_MAX_AGE_SECONDS),
  );
  assert.equal(
    preflight.headers.get("vary"),
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
  );
  assert.equal(preflight.body, null);

  // A method the route lacks: still 204, listing what it allows.
  const other = optionsAnswer(
    options({ origin: ORIGIN, "access-control-request-method": "POST" }),
    "GET, HEAD, OPTIONS",
    "/posts/1",
  );
  assert.equal(other.status, 204);
  assert.equal(
    other.headers.get("access-control-allow-methods"),
    "GET, HEAD, OPTIONS",
  );
  assert.equal(other.headers.get("access-control-allow-headers"), null);

  for (
    const junk of [
      { "access-control-request-method": "P UT" },
      {
        "access-control-request-method": "PUT",
        "access-control-request-headers": "a b",
      },
    ]
  ) {
    const bad = optionsAnswer(
      options({ origin: ORIGIN, ...junk }),
      allow,
      "/posts/1",
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("content-type"), "application/problem+json");
    assert.equal((await bad.json()).instance, "/posts/1");
  }
});

function pipelineOf(metrics: Metrics): Pipeline {
  return createPipeline({
    routes: [
      {
        method: "GET",
        pattern: "/reply",
        handler: () => ({
          status: 200,
          headers: {
            "content-type": "application/json",
            "content-length": String(BODY.byteLength),
            etag: '"a"',
          },
          body: BODY,
        }),
      },
      {
        method: "GET",
        pattern: "/bytes",
        handler: () =>
          new Response(new Uint8Array(100), {
            headers: { "content-type": "application/octet-stream" },
          }),
      },
      { method: "PUT", pattern: "/bytes", handler: () => new Response(null) },
      {
        method: "GET",
        pattern: "/throws",
        handler: () => {
          throw new Error("boom");
        },
      },
    ],
    logger: silentLogger,
    metrics,
  });
}

async function send(
  pipeline: Pipeline,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const res = await pipeline.fetch(
    new Request(`http://localhost${path}`, init),
  );
  await res.body?.cancel();
  return res;
}

Deno.test("the pipeline: every answer varies on Origin, and carries CORS headers when asked", async () => {
  using metrics = new Metrics();
  const pipeline = pipelineOf(metrics);
  const cases: [string, number, string][] = [
    ["/reply", 200, "Accept-Encoding, Origin"],
    ["/bytes", 200, "Origin"],
    ["/throws", 500, "Accept-Encoding, Origin"],
    ["/nowhere", 404, "Accept-Encoding, Origin"],
  ];
  for (const [path, status, vary] of cases) {
    const plain = await send(pipeline, path);
    assert.equal(plain.status, status, path);
    assert.equal(plain.headers.get("vary"), vary, path);
    assert.equal(plain.headers.get("access-control-allow-origin"), null, path);
    assert.equal(plain.headers.get("access-control-expose-headers"), null);

    const cross = await send(pipeline, path, { headers: { origin: ORIGIN } });
    assert.equal(cross.status, status, path);
    assert.equal(cross.headers.get("vary"), vary, path);
    assert.equal(cross.headers.get("access-control-allow-origin"), "*", path);
    assert.equal(
      cross.headers.get("access-control-expose-headers"),
      EXPOSED_HEADERS,
      path,
    );
    assert.equal(plain.headers.get("timing-allow-origin"), null, path);
    assert.equal(cross.headers.get("timing-allow-origin"), "*", path);
  }
  // The hot path without Origin: the same header names as before CORS
  // (Content-Length is the runtime's, written as the answer is sent).
  const hit = await send(pipeline, "/reply");
  assert.deepEqual([...hit.headers.keys()].sort(), [
    "content-type",
    "etag",
    "vary",
    "x-request-id",
  ]);
  // 405 (with Origin) and a compressed Reply (one more Vary writer).
  const wrong = await send(pipeline, "/reply", {
    method: "DELETE",
    headers: { origin: ORIGIN },
  });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD, OPTIONS");
  assert.equal(wrong.headers.get("access-control-allow-origin"), "*");
  const gzip = await send(pipeline, "/reply", {
    headers: { origin: ORIGIN, "accept-encoding": "gzip" },
  });
  assert.equal(gzip.headers.get("vary"), "Accept-Encoding, Origin");
  assert.equal(gzip.headers.get("access-control-allow-origin"), "*");
});

Deno.test("the pipeline: OPTIONS and preflights on known routes, 404 elsewhere", async () => {
  using metrics = new Metrics();
  const pipeline = pipelineOf(metrics);
  const plain = await send(pipeline, "/bytes", { method: "OPTIONS" });
  assert.equal(plain.status, 204);
  assert.equal(plain.headers.get("allow"), "GET, HEAD, OPTIONS, PUT");
  assert.equal(plain.headers.get("access-control-allow-origin"), null);
  assert.ok(plain.headers.get("x-request-id"));

  const preflight = await send(pipeline, "/bytes", {
    method: "OPTIONS",
    headers: {
      origin: ORIGIN,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  assert.equal(
    preflight.headers.get("access-control-allow-methods"),
    "GET, HEAD, OPTIONS, PUT",
  );
  assert.equal(
    preflight.headers.get("access-control-allow-headers"),
    "content-type",
  );
  assert.equal(
    preflight.headers.get("vary"),
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
  );

  const unknown = await send(pipeline, "/nowhere", {
    method: "OPTIONS",
    headers: { origin: ORIGIN, "access-control-request-method": "GET" },
  });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get("access-control-allow-origin"), "*");
});
