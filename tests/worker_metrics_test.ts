/**
 * {@linkcode WorkerMetrics}, the merge of the workers' figures under
 * `deno serve --parallel`, with two of them in this isolate (a
 * `BroadcastChannel` reaches the other objects of its name here as between
 * the workers): counters and histogram buckets add up, gauges merge as
 * their metric says, whichever worker answers; a worker that does not
 * answer fails the scrape (the app's `/metrics` answers 503) instead of
 * leaving its share out. The real
 * `deno serve --parallel` is in tests/serve_parallel_metrics_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { WorkerMetrics } from "../services/ops/worker_metrics.ts";
import { testApp } from "./fixtures/app.ts";
import { until } from "./fixtures/until.ts";
import { parseExposition } from "./fixtures/exposition.ts";

/** A worker's registry: a counter, a histogram and three gauges. */
function workerRegistry(figures: {
  requests: number;
  seconds: number[];
  entries: number;
  files: number;
  memory: number;
}): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Counter({ name: "requests_total", help: "h", registers })
    .inc(figures.requests);
  const histogram = new Histogram({
    name: "duration_seconds",
    help: "h",
    buckets: [0.1, 1],
    registers,
  });
  for (const s of figures.seconds) histogram.observe(s);
  new Gauge({ name: "entries", help: "h", registers }).set(figures.entries);
  new Gauge({ name: "files", help: "h", registers, aggregator: "max" })
    .set(figures.files);
  new Gauge({ name: "memory_bytes", help: "h", registers, aggregator: "first" })
    .set(figures.memory);
  return registry;
}

/** Resolves once `worker` knows `peers` others (bounded, see until.ts). */
function untilPeers(worker: WorkerMetrics, peers: number): Promise<void> {
  return until(() => worker.peers === peers, `${peers} peers known`);
}

Deno.test("each worker's scrape gives the figures of both: counters and buckets summed, gauges by their aggregator", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  using a = new WorkerMetrics(
    workerRegistry({
      requests: 5,
      seconds: [0.0625, 0.5],
      entries: 1,
      files: 3,
      memory: 100,
    }),
    { channel },
  );
  using b = new WorkerMetrics(
    workerRegistry({
      requests: 7,
      seconds: [0.0625, 2],
      entries: 1,
      files: 2,
      memory: 200,
    }),
    { channel },
  );
  await untilPeers(a, 1);
  await untilPeers(b, 1);
  for (const [worker, memory] of [[a, 100], [b, 200]] as const) {
    const figures = parseExposition((await worker.expose())!);
    assert.equal(figures.get("requests_total"), 12);
    assert.equal(figures.get('duration_seconds_bucket{le="0.1"}'), 2);
    assert.equal(figures.get('duration_seconds_bucket{le="1"}'), 3);
    assert.equal(figures.get('duration_seconds_bucket{le="+Inf"}'), 4);
    assert.equal(figures.get("duration_seconds_count"), 4);
    assert.equal(figures.get("duration_seconds_sum"), 2.625);
    // Each worker's cache holds its own entries: they add up.
    assert.equal(figures.get("entries"), 2);
    // One shared folder, read by both.
    assert.equal(figures.get("files"), 3);
    // The process's one value: the answering worker's reading.
    assert.equal(figures.get("memory_bytes"), memory);
  }
});

Deno.test("a worker that does not answer fails the scrape (no partial sum); once it leaves, scrapes work again", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const registry = workerRegistry({
    requests: 5,
    seconds: [],
    entries: 0,
    files: 0,
    memory: 1,
  });
  using worker = new WorkerMetrics(registry, { channel, answerTimeoutMs: 50 });
  // Alone, it answers with its own figures.
  assert.equal(
    parseExposition((await worker.expose())!).get("requests_total"),
    5,
  );
  // A worker that makes itself known, then never answers (stuck).
  const silent = new BroadcastChannel(channel);
  try {
    silent.postMessage({ kind: "hello", from: "silent" });
    await untilPeers(worker, 1);
    assert.equal(await worker.expose(), undefined);
    silent.postMessage({ kind: "bye", from: "silent" });
    await untilPeers(worker, 0);
    assert.equal(
      parseExposition((await worker.expose())!).get("requests_total"),
      5,
    );
  } finally {
    silent.close();
  }
});

Deno.test("a worker that fails to read its figures fails the scrape at once", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const broken = new Registry();
  new Gauge({
    name: "broken",
    help: "h",
    registers: [broken],
    collect() {
      throw new Error("source gone");
    },
  });
  const registry = workerRegistry({
    requests: 1,
    seconds: [],
    entries: 0,
    files: 0,
    memory: 1,
  });
  // The timeout is past the test's own limit: only the failed answer can
  // end the wait.
  using asking = new WorkerMetrics(registry, {
    channel,
    answerTimeoutMs: 60_000,
  });
  using failing = new WorkerMetrics(broken, { channel });
  await untilPeers(asking, 1);
  await untilPeers(failing, 1);
  assert.equal(await asking.expose(), undefined);
});

Deno.test("a closed worker answers no scrape and is left by the others", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const figures = { seconds: [], entries: 0, files: 0, memory: 1 };
  using a = new WorkerMetrics(workerRegistry({ ...figures, requests: 2 }), {
    channel,
  });
  const b = new WorkerMetrics(workerRegistry({ ...figures, requests: 3 }), {
    channel,
  });
  await untilPeers(a, 1);
  await untilPeers(b, 1);
  assert.equal(parseExposition((await a.expose())!).get("requests_total"), 5);
  b.close();
  b.close();
  assert.equal(await b.expose(), undefined);
  await untilPeers(a, 0);
  assert.equal(parseExposition((await a.expose())!).get("requests_total"), 2);
});

Deno.test("the app's /metrics answers 503 problem+json with Retry-After while a worker's figures are missing", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  await using t = await testApp(["--upstream-url", "http://127.0.0.1:9"]);
  t.app.metrics.shareWithWorkers({ channel, answerTimeoutMs: 50 });
  const silent = new BroadcastChannel(channel);
  try {
    // Alone: its own figures.
    const alone = await t.get("/metrics");
    assert.equal(alone.status, 200);
    assert.match(await alone.text(), /^http_requests_in_flight /m);
    silent.postMessage({ kind: "hello", from: "silent" });
    // Once the hello has come (bounded).
    let res = await t.get("/metrics");
    await until(async () => {
      if (res.status === 503) return true;
      await res.body?.cancel();
      res = await t.get("/metrics");
      return false;
    }, "the silent worker known");
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.match((await res.json()).detail, /did not send its metrics/);
  } finally {
    silent.close();
  }
});
