/**
 * `/metrics` passes Prometheus's own linter, `promtool check metrics`
 * (Debian: prometheus), after traffic that gives every family samples:
 * cache misses and hits over the real JSONPlaceholder, a 304, client errors,
 * a write (an invalidation), an upload, a download; once more with the
 * Redis tier (REDIS_URL), whose families exist only then. promtool prints nothing
 * and exits 0 only when no metric breaks its naming, help, type or unit
 * rules; a lint warning fails the test as an error does.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { startRedis } from "./fixtures/redis.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { runTool } from "./fixtures/tool.ts";

/** Sends the traffic; every answer is read to its end. */
async function traffic(url: string): Promise<void> {
  const get = async (path: string, headers: HeadersInit = {}) => {
    const res = await fetch(`${url}${path}`, { headers });
    await res.arrayBuffer();
    return res;
  };
  const first = await get("/posts/1"); // miss
  const etag = first.headers.get("etag")!;
  assert.equal((await get("/posts/1")).status, 200); // hit
  assert.equal((await get("/posts/1", { "if-none-match": etag })).status, 304);
  assert.equal((await get("/posts/abc")).status, 400);
  assert.equal((await get("/no-such-path")).status, 404);
  const write = await fetch(`${url}/posts/1`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "t" }),
  });
  await write.arrayBuffer();
  assert.equal(write.status, 200);
  const upload = await fetch(`${url}/files`, {
    method: "POST",
    body: new Uint8Array(256 * 1024).fill(7),
  });
  assert.equal(upload.status, 201);
  const { id } = await upload.json() as { id: string };
  assert.equal((await get(`/files/${id}`)).status, 200);
  assert.equal((await get("/uploads")).status, 200);
}

/** promtool's findings on the service's `/metrics` after the traffic. */
async function lintMetrics(url: string, samples: string[]): Promise<void> {
  await traffic(url);
  const res = await fetch(`${url}/metrics`);
  assert.equal(
    res.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const text = await res.text();
  // The traffic reached the families it was meant to.
  for (const sample of samples) {
    assert.ok(text.includes(sample), `no ${sample} in /metrics`);
  }
  const out = await runTool("promtool", ["check", "metrics"], {
    install: "apt-get install -y prometheus",
    stdin: new TextEncoder().encode(text),
  });
  assert.equal(`${out.stdout}${out.stderr}`, "", "promtool's findings");
  assert.equal(out.code, 0);
}

const SAMPLES = [
  'cache_lookups_total{outcome="miss"}',
  'cache_lookups_total{outcome="hit"}',
  'status="304"',
  'status="400"',
  'status="404"',
  'uploads_total{outcome="created"}',
  'upstream_requests_total{outcome="ok"}',
  'cache_invalidations_total{cause="write"}',
];

Deno.test("promtool check metrics finds no problem in /metrics after traffic on every family", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  await lintMetrics(service.url, SAMPLES);
});

Deno.test("promtool check metrics: the Redis tier's families (REDIS_URL) pass too", async () => {
  await using upstream = await startJsonPlaceholder();
  await using redis = await startRedis();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url, "--redis-url", redis.url],
  });
  await lintMetrics(service.url, [
    ...SAMPLES,
    "cache_redis_up 1",
    "cache_redis_timeouts_total",
    "cache_redis_command_errors_total",
    "cache_invalidations_pending",
  ]);
});

Deno.test("promtool check metrics fails on a badly named counter (the check bites)", async () => {
  const out = await runTool("promtool", ["check", "metrics"], {
    install: "apt-get install -y prometheus",
    stdin: new TextEncoder().encode(
      "# HELP uploads Uploads\n# TYPE uploads counter\nuploads 1\n",
    ),
  });
  assert.notEqual(out.code, 0);
  assert.match(out.stderr + out.stdout, /should have "_total" suffix/);
});
