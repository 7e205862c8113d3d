/**
 * Memory must match its bound: the service runs as a child process against
 * the fixture upstream, and its resident set (VmRSS of /proc/<pid>/status,
 * read from outside so nothing in the service has to report it) is watched
 * while many small keys go through a small cache, while large chunked
 * bodies are read, and while a 512 MiB upload goes through.
 *
 * The limits are generous (the machine is shared); the failures they catch
 * are several times larger.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ENTRY_OVERHEAD_BYTES } from "../services/cache/memory_store.ts";
import type { FloodReport } from "./fixtures/cache_flood.ts";
import { curlUpload } from "./fixtures/curl_upload.ts";
import {
  peakRssOf,
  rssOf,
  startTaskV8Flags,
} from "./fixtures/process_memory.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { tempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const MiB = 1024 * 1024;

/** GETs `paths` with `concurrency` requests in flight; returns the statuses. */
async function getAll(
  base: string,
  paths: string[],
  concurrency = 16,
): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const res = await fetch(base + paths[next++]!);
      await res.body?.cancel();
      statuses.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/**
 * Runs `tests/fixtures/cache_flood.ts` with `args` in its own process (it
 * needs `--expose-gc`, and a heap of its own to measure).
 */
async function floodReport(args: string[]): Promise<FloodReport> {
  const script = new URL("./fixtures/cache_flood.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script.pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  return JSON.parse(decoder.decode(stdout));
}

const keys = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `/posts/1?k=${from + i}`);

Deno.test({
  name:
    "4000 small keys through a 1 MiB cache grow RSS by far less than 64 KiB per entry",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using upstream = startFixtureUpstream();
    await using service = await spawnService([], {
      env: {
        UPSTREAM_URL: upstream.url,
        CACHE_MAX_BYTES: String(MiB),
      },
    });
    const pid = service.child.pid;
    // Warm up (JIT, connection pools, allocator arenas) before the baseline.
    assert.ok(
      (await getAll(service.url, keys(0, 500))).every((s) => s === 200),
    );
    const before = await rssOf(pid);
    const statuses = await getAll(service.url, keys(500, 4500));
    assert.ok(statuses.every((s) => s === 200));
    const grown = (await rssOf(pid)) - before;
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const bytes = Number(metrics.match(/^cache_bytes (\d+)$/m)?.[1]);
    assert.ok(bytes <= MiB, `cache_bytes ${bytes}`);
    // ~1800 entries fit; at 64 KiB each that is ~115 MiB pinned (measured
    // +200 MiB before the fix, +44 MiB after).
    assert.ok(
      grown < 100 * MiB,
      `RSS grew by ${(grown / MiB).toFixed(1)} MiB for a 1 MiB cache`,
    );
  },
});

Deno.test({
  name:
    "10000 distinct keys through an 8 MiB cache, with the start task's V8 flags, raise peak RSS by less than the cache + 32 MiB",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const cacheBytes = 8 * MiB;
    await using upstream = startFixtureUpstream();
    await using service = await spawnService([], {
      env: { UPSTREAM_URL: upstream.url, CACHE_MAX_BYTES: String(cacheBytes) },
      denoArgs: ["-A", await startTaskV8Flags()],
    });
    const pid = service.child.pid;
    const paths = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => `/posts?userId=${from + i}`);
    // Warm up (JIT, connection pools, allocator arenas) before the baseline.
    await getAll(service.url, paths(9_000_000, 1000), 32);
    const before = await rssOf(pid);
    // 10000, not 20000: without the flags the peak grew by 74-76 MiB
    // after 10000 (54 after 5000), so the other 10000 only cost time
    // (46 s -> 15 s at load 13).
    const statuses = await getAll(service.url, paths(1_000_000, 10_000), 32);
    assert.ok(statuses.every((s) => s === 200));
    // The high-water mark, not a sample: the peak is what a memory limit
    // meets. What grows is the V8 heap: garbage of the misses and of the
    // evicted entries waiting for a collection. V8's defaults let it reach
    // a 52 MiB young generation and an old generation 4x its live size:
    // +67 to +70 MiB here; the start task's flags keep it to +18 to +20.
    const grown = (await peakRssOf(pid)) - before;
    assert.ok(
      grown < cacheBytes + 32 * MiB,
      `peak RSS grew by ${(grown / MiB).toFixed(1)} MiB`,
    );
  },
});

Deno.test("a flood of distinct keys fills CACHE_MAX_BYTES with entries that hold less than they are counted for", async () => {
  const maxBytes = 2 * MiB;
  const floods = {
    "2-byte bodies": ["--body-bytes", "2"],
    "distinct bodies sent with br": ["--accept-encoding", "br"],
  };
  // In parallel: each is mostly waiting on its loopback upstream.
  const reports = await Promise.all(
    Object.values(floods).map((args) =>
      floodReport(["--cache-max-bytes", String(maxBytes), "--keys", "2000"]
        .concat(args))
    ),
  );
  for (const [i, what] of Object.keys(floods).entries()) {
    const report = reports[i]!;
    const shown = `${what}: ${JSON.stringify(report)}`;
    assert.deepEqual(report.failed, {}, shown);
    assert.equal(report.inflight, 0, `single-flight map left: ${shown}`);
    assert.ok(report.countedBytes <= maxBytes, shown);
    assert.ok(report.countedBytes > 0.9 * maxBytes, `not filled: ${shown}`);
    assert.ok(report.entries <= maxBytes / ENTRY_OVERHEAD_BYTES, shown);
    // The count budgets each entry's live objects (heap and external) with
    // room for what a collection leaves behind: the V8 heap's slack, the
    // native backing stores. Live memory held by tiny entries was 0.92x of
    // the count at 512 bytes of overhead (the process held 2.7x in RSS),
    // 0.35-0.40x now.
    assert.ok(
      report.heldBytes <= 0.7 * report.countedBytes,
      `entries hold ${
        (report.heldBytes / report.countedBytes).toFixed(2)
      }x what is counted: ${shown}`,
    );
  }
});

Deno.test({
  name:
    "a 10 MB upstream body in 2 KB chunks costs about its size; a 50 MB one stops at the cap and is not kept",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using upstream = startFixtureUpstream();
    upstream.setFault("/photos", {
      hugeBodyBytes: 10_000_000,
      chunkBytes: 2048,
    });
    upstream.setFault("/albums", {
      hugeBodyBytes: 50_000_000,
      chunkBytes: 2048,
    });
    await using service = await spawnService([], {
      env: { UPSTREAM_URL: upstream.url, UPSTREAM_MAX_BYTES: String(16 * MiB) },
    });
    const pid = service.child.pid;
    assert.deepEqual(
      await getAll(service.url, keys(0, 50)),
      Array(50).fill(200),
    );
    const before = await rssOf(pid);

    const photos = await fetch(`${service.url}/photos`);
    assert.equal(photos.status, 200);
    assert.ok((await photos.bytes()).byteLength >= 10_000_000);
    const large = await rssOf(pid);
    // The cached copy, the one being sent and the JSON check's garbage:
    // measured +80 MiB. Each 2 KB chunk held as a view of a 64 KiB buffer
    // cost +300 MiB before the fix.
    assert.ok(
      large - before < 160 * MiB,
      `a 10 MB body grew RSS by ${((large - before) / MiB).toFixed(1)} MiB`,
    );

    const albums = await fetch(`${service.url}/albums`);
    assert.equal(albums.status, 502);
    assert.match((await albums.json()).detail, /limit/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const over = await rssOf(pid);
    // Reading stops at the 16 MiB cap and keeps nothing: measured +5 MiB;
    // +200 MiB before the fix.
    assert.ok(
      over - large < 64 * MiB,
      `a refused 50 MB body grew RSS by ${
        ((over - large) / MiB).toFixed(1)
      } MiB`,
    );
  },
});

/** Samples the RSS of `pid` every 10 ms until `stop()`, which gives the peak. */
function sampleRss(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await rssOf(pid));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

/**
 * `curl -T` of a sparse file of `bytes` zeros (no disk read) to /files, as a
 * user uploads; returns the status.
 */
async function uploadZeros(
  base: string,
  dir: string,
  bytes: number,
): Promise<number> {
  const path = `${dir}/zeros-${bytes}`;
  await Deno.writeFile(path, new Uint8Array());
  await Deno.truncate(path, bytes);
  try {
    return await curlUpload(base, path, { headers: ["Expect:"] });
  } finally {
    await Deno.remove(path);
  }
}

Deno.test({
  name:
    "a 512 MiB upload grows RSS by little more than its queue, from the first one on",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const queueBytes = 8 * MiB;
    await using dataDir = await tempDir();
    await using sources = await tempDir();
    await using service = await spawnService([], {
      env: {
        DATA_DIR: dataDir.path,
        UPLOAD_QUEUE_BYTES: String(queueBytes),
        MAX_UPLOAD_BYTES: String(1024 * MiB),
      },
    });
    const pid = service.child.pid;
    // A small upload first starts the hash worker (a one-time ~15 MiB),
    // as the bench's warm-up does: the bound is on what an upload adds.
    assert.equal(await uploadZeros(service.url, sources.path, MiB), 201);
    const idle = await rssOf(pid);
    const sampler = sampleRss(pid);
    let status: number;
    let peak: number;
    try {
      status = await uploadZeros(service.url, sources.path, 512 * MiB);
    } finally {
      peak = await sampler.stop();
    }
    assert.equal(status, 201);
    // The bench's target is the queue + 32 MiB. Measured here +25-32 MiB
    // (+29-36 without the start-up collection, when the heap the start
    // had grown filled up). 16 MiB more for a loaded machine; buffers
    // that pile up cost hundreds.
    const grown = peak - idle;
    assert.ok(
      grown <= queueBytes + 48 * MiB,
      `RSS grew by ${(grown / MiB).toFixed(1)} MiB (idle ${
        (idle / MiB).toFixed(1)
      } MiB)`,
    );
  },
});
