/**
 * `/metrics` as traffic flows (series labelled by route pattern, each
 * request counted to its own series) and `Server-Timing` (cache lookup and
 * upstream time, counted from the request's arrival).
 *
 * @module
 */

import assert from "node:assert/strict";
import { lookup } from "../routes/jsonplaceholder/routes.ts";
import { serverTimingOf } from "../services/cache/headers.ts";
import { Metrics } from "../services/ops/metrics.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { parseExposition } from "./fixtures/exposition.ts";

Deno.test("/metrics moves as real traffic flows, labelled by route pattern", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/2", { delayMs: 100 });
  upstream.setFault("/posts/3", { status: 503, times: 1 });
  await using t = await testApp(["--upstream-url", upstream.url]);

  const before = parseExposition(await (await t.get("/metrics")).text());
  assert.equal(before.get("cache_entries"), 0);
  assert.ok((before.get("process_resident_memory_bytes") ?? 0) > 0);
  assert.equal(before.get("upstream_open_slots"), 32);

  await (await t.get("/posts/1")).body?.cancel(); // miss
  await (await t.get("/posts/1")).body?.cancel(); // hit
  await (await t.get("/posts/1?x=1")).body?.cancel(); // another key: miss
  await Promise.all(
    Array.from(
      { length: 5 },
      () => t.get("/posts/2").then((r) => r.body?.cancel()),
    ),
  ); // 1 miss + 4 collapsed
  await (await t.get("/posts/3")).body?.cancel(); // 1 retry, then ok
  await (await t.get("/nope")).body?.cancel(); // 404 unmatched
  await (await t.get("/files", { method: "POST", body: "hello" })).body
    ?.cancel();
  await (await t.get("/files", {
    method: "POST",
    body: "x".repeat(10),
    headers: { "content-digest": `sha-256=:${btoa("x".repeat(32))}:` },
  })).body?.cancel();

  const res = await t.get("/metrics");
  assert.match(
    res.headers.get("content-type") ?? "",
    /^text\/plain; version=0\.0\.4/,
  );
  const after = parseExposition(await res.text());
  const get = (key: string) => after.get(key) ?? 0;

  assert.equal(
    get('http_requests_total{route="/posts/:id",method="GET",status="200"}'),
    9,
  );
  assert.equal(
    get('http_requests_total{route="unmatched",method="GET",status="404"}'),
    1,
  );
  assert.equal(
    get('http_requests_total{route="/files",method="POST",status="201"}'),
    1,
  );
  assert.equal(
    get('http_requests_total{route="/files",method="POST",status="400"}'),
    1,
  );
  assert.equal(
    get('http_request_duration_seconds_count{route="/posts/:id",method="GET"}'),
    9,
  );
  // Raw paths never become labels.
  assert.ok(![...after.keys()].some((k) => k.includes('route="/posts/1"')));
  // The scrape itself is in flight while it renders.
  assert.equal(get("http_requests_in_flight"), 1);

  assert.equal(get('cache_lookups_total{outcome="miss"}'), 4);
  assert.equal(get('cache_lookups_total{outcome="hit"}'), 1);
  assert.equal(get('cache_lookups_total{outcome="collapsed"}'), 4);
  assert.equal(get("cache_entries"), 4);
  assert.ok(get("cache_bytes") > 0);
  assert.equal(get("cache_evictions_total"), 0);

  assert.equal(get('upstream_requests_total{outcome="ok"}'), 4);
  assert.equal(get('upstream_requests_total{outcome="retry"}'), 1);
  assert.equal(get("upstream_retries_total"), 1);
  assert.equal(get('upstream_request_duration_seconds_count{outcome="ok"}'), 4);
  assert.equal(get("upstream_open_slots"), 32);

  assert.equal(get('uploads_total{outcome="created"}'), 1);
  assert.equal(get('uploads_total{outcome="digest_mismatch"}'), 1);
  assert.equal(get("upload_bytes_total"), 5);
  assert.equal(get("upload_throughput_bytes_per_second_count"), 1);
  assert.equal(
    get('uploads_bound_total{bound="read"}') +
      get('uploads_bound_total{bound="write"}') +
      get('uploads_bound_total{bound="hash"}'),
    1,
  );
  for (
    const phase of [
      "reader_wait",
      "reader_blocked",
      "writer_write",
      "writer_idle",
      "writer_hash_wait",
    ]
  ) {
    assert.ok(
      after.has(`upload_pipeline_seconds_total{phase="${phase}"}`),
      phase,
    );
  }
  // A writer already waiting takes a small chunk straight away: 0 is fine.
  assert.ok(after.has("upload_queue_high_water_bytes"));
  assert.ok(after.has("process_event_loop_delay_seconds"));
});

Deno.test("Server-Timing tells cache lookups and upstream time apart", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const miss = await t.get("/posts/1");
  assert.match(
    miss.headers.get("server-timing") ?? "",
    /^cache;desc="miss";dur=[\d.]+, upstream;dur=[\d.]+$/,
  );
  await miss.body?.cancel();
  const hit = await t.get("/posts/1");
  assert.match(
    hit.headers.get("server-timing") ?? "",
    /^cache;desc="hit";dur=[\d.]+$/,
  );
  await hit.body?.cancel();
  const upload = await t.get("/files", { method: "POST", body: "abc" });
  const timing = upload.headers.get("server-timing") ?? "";
  for (const name of ["read", "blocked", "write", "idle", "total"]) {
    assert.match(timing, new RegExp(`(^|, )${name};dur=[\\d.]+`), name);
  }
  await upload.body?.cancel();
});

Deno.test("a lookup's Server-Timing counts from the request's arrival, a memory hit's too", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  await (await t.get("/posts/1")).body?.cancel();
  // Arrived 20 ms before the lookup: the hit's dur says so.
  const timed = lookup(
    { client: t.app.client, cache: t.app.cache },
    "/posts/1",
    { started: performance.now() - 20, remoteAddress: undefined },
    "object",
  );
  assert.ok(!(timed instanceof Promise), "a memory hit, at once");
  assert.equal(timed.result.outcome, "hit");
  assert.ok(timed.lookupMs >= 20, `${timed.lookupMs} ms`);
  const header = serverTimingOf(timed);
  assert.match(header, /^cache;desc="hit";dur=[\d.]+$/);
  assert.ok(Number(header.split("dur=")[1]) >= 20, header);
});

Deno.test("each request counts to its own series, whichever came just before, and a reset starts every series again", async () => {
  using metrics = new Metrics();
  const counts = async () => {
    const text = (await metrics.expose())!.body;
    return [...parseExposition(text)].filter(([key]) =>
      key.startsWith("http_requests_total")
    );
  };
  // Runs of one series and changes of route, method or status alone, so
  // the series of the request before is sometimes the one and sometimes
  // not.
  const requests: [string, string, number][] = [
    ["/posts/:id", "GET", 200],
    ["/posts/:id", "GET", 200],
    ["/posts/:id", "GET", 304],
    ["/posts/:id", "GET", 200],
    ["/posts/:id", "HEAD", 200],
    ["/posts", "GET", 200],
    ["/posts", "GET", 200],
  ];
  for (const [route, method, status] of requests) {
    metrics.request(route, method, status, 0.001);
  }
  assert.deepEqual(await counts(), [
    ['http_requests_total{route="/posts/:id",method="GET",status="200"}', 3],
    ['http_requests_total{route="/posts/:id",method="GET",status="304"}', 1],
    ['http_requests_total{route="/posts/:id",method="HEAD",status="200"}', 1],
    ['http_requests_total{route="/posts",method="GET",status="200"}', 2],
  ]);
  metrics.registry.resetMetrics();
  metrics.request("/posts", "GET", 200, 0.001);
  assert.deepEqual(await counts(), [
    ['http_requests_total{route="/posts",method="GET",status="200"}', 1],
  ]);
});
