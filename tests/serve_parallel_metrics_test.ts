/**
 * `/metrics` of `deno serve --parallel serve.ts` (a real child with 2
 * workers) reports the whole process, whichever worker takes the scrape:
 * over scrapes on new connections (which land on either worker), the
 * request counters and the histogram's count equal the requests sent and
 * never go down, the per-worker gauges add up (each worker's cache), the
 * shared ones do not (one `DATA_DIR`), and promtool still finds nothing.
 * Each worker used to answer with its own figures only: counts below what
 * was sent, dropping from one scrape to the next (a counter reset to
 * Prometheus).
 *
 * @module
 */

import assert from "node:assert/strict";
import { JOBS, type Served } from "./fixtures/deno_serve.ts";
import { runTool } from "./fixtures/tool.ts";
import { until } from "./fixtures/until.ts";
import { serveOnUpstream } from "./fixtures/upstream_service.ts";

/** The value of the sample `name{labels}` in an exposition text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length));
}

const REQUESTS = 'http_requests_total{route="/posts/:id",method="GET",' +
  'status="200"}';
const DURATIONS = 'http_request_duration_seconds_count{route="/posts/:id",' +
  'method="GET"}';

/** A scrape on a connection of its own. */
async function scrape(served: Served, client: Deno.HttpClient) {
  const res = await fetch(`${served.url}/metrics`, { client });
  assert.equal(res.status, 200, served.output());
  return await res.text();
}

Deno.test("deno serve --parallel: /metrics counts every worker's requests, equal to those sent and never going down", async () => {
  await using started = await serveOnUpstream({}, "async-api-serve-");
  const { served, upstream } = started;
  // A new connection per request, so requests and scrapes spread over
  // the workers (a kept-alive connection stays with one worker).
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  let sent = 0;
  const get = async () => {
    const res = await fetch(`${served.url}/posts/1`, { client });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    sent++;
  };
  // Until every worker has served /posts/1: each one's own cache misses
  // it once (bounded). Then no worker alone holds every request sent.
  await until(
    async () => {
      await get();
      return upstream.hits("/posts/1") >= JOBS;
    },
    `all ${JOBS} workers answering`,
    20_000,
  );

  const seen: number[] = [];
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 5; i++) await get();
    const text = await scrape(served, client);
    assert.equal(sample(text, REQUESTS), sent, `round ${round}\n${text}`);
    assert.equal(sample(text, DURATIONS), sent);
    seen.push(sample(text, REQUESTS)!);
  }
  // Scrapes with nothing sent in between: the same figure every time.
  for (let i = 0; i < 6; i++) {
    seen.push(sample(await scrape(served, client), REQUESTS)!);
  }
  assert.ok(
    seen.every((n, i) => i === 0 || n >= seen[i - 1]!),
    seen.join(" "),
  );
  assert.equal(seen.at(-1), sent);

  // One upload, stored in the one shared folder.
  const upload = await fetch(`${served.url}/files`, {
    method: "POST",
    body: new Uint8Array(1024).fill(1),
    client,
  });
  assert.equal(upload.status, 201);
  await upload.body?.cancel();
  const text = await scrape(served, client);
  // Each worker's own cache holds /posts/1: the process holds JOBS.
  assert.equal(sample(text, "cache_entries"), JOBS);
  assert.equal(sample(text, 'cache_lookups_total{outcome="miss"}'), JOBS);
  assert.equal(
    sample(text, 'cache_lookups_total{outcome="hit"}'),
    sent - JOBS,
  );
  // Every worker counts the same folder: once, not JOBS times.
  assert.equal(sample(text, "files_stored"), 1);
  assert.equal(sample(text, 'uploads_total{outcome="created"}'), 1);
  assert.equal(
    text.match(/^process_resident_memory_bytes /gm)?.length,
    1,
    text,
  );
  assert.ok(sample(text, "process_resident_memory_bytes")! > 0);

  const out = await runTool("promtool", ["check", "metrics"], {
    install: "apt-get install -y prometheus",
    stdin: new TextEncoder().encode(text),
  });
  assert.equal(`${out.stdout}${out.stderr}`, "", "promtool's findings");
  assert.equal(out.code, 0);

  served.kill("SIGTERM");
  assert.equal((await served.status).code, 0, served.output());
});
