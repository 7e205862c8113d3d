/**
 * `/metrics` passes Prometheus's own linter, `promtool check metrics`
 * (Debian: prometheus), after traffic that gives every family samples:
 * cache misses and hits over the real JSONPlaceholder, a 304, client errors,
 * a write (an invalidation), an upload, a download; once more in the
 * service's own process (main.ts: its connection server's families) with
 * the Redis tier (REDIS_URL), whose families exist only then. promtool
 * prints nothing and exits 0 only when no metric breaks its naming, help,
 * type or unit rules; a lint warning fails the test as an error does.
 * Every family exported is named in README's Metrics table, with its
 * labels and their values (but the open ones: route, method, status), and
 * with the Redis tier every family the table names is exported.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { startRedis } from "./fixtures/redis.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
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

/**
 * README's Metrics table: each metric name of its first column, with the
 * row that names it (its labels and its values in backticks).
 */
async function readmeMetrics(): Promise<Map<string, string>> {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const section = readme.split("\n## Metrics\n")[1]!.split("\n## ")[0]!;
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const first = line.startsWith("| `") ? line.split("|")[1]! : "";
    for (const m of first.matchAll(/`([a-z_]+)`/g)) rows.set(m[1]!, line);
  }
  return rows;
}

/** Labels whose values are open (paths, methods, codes), not listed. */
const OPEN_LABELS = ["route", "method", "status"];

/**
 * Each sample's labels, as README's row for its family should name them:
 * the label in the labels column, and a value of a closed set in backticks
 * in the row (`http2_total` and the histogram's `outcome` were missing).
 */
function undocumentedLabels(
  text: string,
  rows: Map<string, string>,
): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/^([a-z_]+)\{([^}]*)\} /gm)) {
    const family = rows.has(m[1]!)
      ? m[1]!
      : m[1]!.replace(/_(bucket|sum|count)$/, "");
    const row = rows.get(family) ?? "";
    const labelsColumn = row.split("|")[2] ?? "";
    for (const [, label, value] of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) {
      if (label === "le") continue;
      if (!labelsColumn.includes(`\`${label}\``)) {
        found.add(`${family}: label ${label}`);
      } else if (
        !OPEN_LABELS.includes(label!) && !row.includes(`\`${value}\``)
      ) {
        found.add(`${family}: ${label}="${value}"`);
      }
    }
  }
  return [...found];
}

/** The families of an exposition, by their `# TYPE` lines. */
function families(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
}

/**
 * promtool's findings on the service's `/metrics` after the traffic, and
 * the families README's table does not name; with `everyDocumented`, the
 * ones it names that are not exported too.
 */
async function lintMetrics(
  url: string,
  samples: string[],
  { everyDocumented = false } = {},
): Promise<void> {
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
  const rows = await readmeMetrics();
  const documented = new Set(rows.keys());
  const exported = families(text);
  assert.deepEqual(
    undocumentedLabels(text, rows),
    [],
    "labels and values not in README's Metrics table",
  );
  assert.deepEqual(
    exported.filter((name) => !documented.has(name)),
    [],
    "exported, not in README's Metrics table",
  );
  if (!everyDocumented) return;
  assert.deepEqual(
    [...documented].filter((name) => !exported.includes(name)),
    [],
    "in README's Metrics table, not exported",
  );
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

Deno.test("promtool check metrics: the service process with the Redis tier (REDIS_URL) passes too", async () => {
  // main.ts itself, so the connection server's families are there too.
  await using upstream = await startJsonPlaceholder();
  await using redis = await startRedis();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService([], {
      env: {
        UPSTREAM_URL: upstream.url,
        REDIS_URL: redis.url,
        DATA_DIR: dataDir,
      },
    });
    await lintMetrics(service.url, [
      ...SAMPLES,
      "cache_redis_up 1",
      "cache_redis_timeouts_total",
      "cache_redis_command_errors_total",
      "cache_invalidations_pending",
      "http_connections_open",
    ], { everyDocumented: true });
  });
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
