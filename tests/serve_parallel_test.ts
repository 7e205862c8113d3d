/**
 * `deno serve --parallel serve.ts`: every kind of route answers, from more
 * than one worker, each worker with its own in-memory cache (so the upstream
 * sees at most one request per worker for a key), all sharing `DATA_DIR`;
 * SIGTERM ends it with exit code 0; the listener ending (out of file
 * descriptors) exits 1 with an error line. `main.ts` (the `deno run` entry) has no
 * default export, so `deno serve main.ts` is refused by Deno. With
 * `REDIS_URL`, the workers share one cache: concurrent misses over every
 * worker make one upstream request.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "./fixtures/free_port.ts";
import {
  exitWithin,
  JOBS,
  MAIN,
  startServe,
  threadsNamed,
  waitUntilUp,
} from "./fixtures/deno_serve.ts";
import { until } from "./fixtures/until.ts";
import { startRedis } from "./fixtures/redis.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

Deno.test("deno serve --parallel serves every route from several workers, each with its own cache", async () => {
  await using upstream = startFixtureUpstream();
  await using tempDataDir = await tempDir({ prefix: "async-api-serve-" });
  const dataDir = tempDataDir.path;
  // A new connection per request, so the requests spread over the
  // workers (a kept-alive connection stays with one worker).
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${served.url}${path}`, { ...init, client });

  await using served = startServe({
    UPSTREAM_URL: upstream.url,
    DATA_DIR: dataDir,
  });
  await waitUntilUp(served, client);

  const root = await get("/");
  assert.equal(root.status, 200);
  assert.deepEqual(await root.json(), { Hello: "World" });
  const health = await get("/healthz");
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const ready = await get("/readyz");
  assert.equal(ready.status, 200);
  await ready.body?.cancel();

  const posts = await get("/posts?userId=1");
  assert.equal(posts.status, 200);
  const list: { userId: number }[] = await posts.json();
  assert.equal(list.length, 10);
  assert.ok(list.every((post) => post.userId === 1));
  const comments = await get("/comments?postId=1");
  assert.equal(comments.status, 200);
  assert.equal((await comments.json()).length, 5);

  const summary = await get("/users/1/summary");
  assert.equal(summary.status, 200);
  const body = await summary.json();
  assert.equal(body.user.id, 1);
  assert.equal(body.posts.length, 10);
  assert.deepEqual(body.errors, []);

  // Each worker keeps its own cache: the first /posts/1 a worker serves
  // is a miss, the rest hits. So the misses count the workers that
  // answered, and the upstream saw exactly that many requests. A worker
  // still starting takes no connections, so keep asking until every
  // worker has answered once (bounded), then some more: all hits.
  const deadline = Date.now() + 20_000;
  let rounds = 0;
  let misses = 0;
  const ask = async () => {
    const res = await get("/posts/1");
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, 1);
    const cacheStatus = res.headers.get("cache-status") ?? "";
    rounds++;
    if (/fwd=miss/.test(cacheStatus)) misses++;
    else assert.match(cacheStatus, /\bhit\b/);
  };
  while (misses < JOBS && Date.now() < deadline) await ask();
  for (let i = 0; i < 12; i++) await ask();
  assert.equal(upstream.hits("/posts/1"), misses);
  assert.equal(
    misses,
    JOBS,
    `${misses} of ${JOBS} workers answered ${rounds} requests`,
  );

  // Uploads go to the shared DATA_DIR: any worker can serve them back.
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
  const created = await get("/files", { method: "POST", body: bytes });
  assert.equal(created.status, 201);
  const { id } = await created.json();
  for (let i = 0; i < 4; i++) {
    const download = await get(`/files/${id}`);
    assert.equal(download.status, 200);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), bytes);
  }

  const docs = await get("/docs");
  assert.equal(docs.status, 200);
  assert.match(docs.headers.get("content-type") ?? "", /^text\/html/);
  await docs.body?.cancel();

  const missing = await get("/nope");
  assert.equal(missing.status, 404);
  assert.match(
    missing.headers.get("content-type") ?? "",
    /application\/problem\+json/,
  );
  await missing.body?.cancel();
  const wrongMethod = await get("/", { method: "DELETE" });
  assert.equal(wrongMethod.status, 405);
  assert.ok(wrongMethod.headers.get("allow")?.includes("GET"));
  await wrongMethod.body?.cancel();

  // The workers serve the one port: no listening line names another
  // (serve.ts starts no server of its own).
  const listening = served.records().filter((r) => r.msg === "listening");
  assert.ok(listening.length >= 1, served.output());
  for (const record of listening) {
    assert.equal(record.url, served.url, served.output());
    // PORT and HOST are not in force: deno serve's --port and --host are.
    const settings = record.settings as Record<string, unknown>;
    assert.equal(settings.upstreamUrl, upstream.url);
    assert.equal("port" in settings || "host" in settings, false);
  }

  served.kill("SIGTERM");
  const status = await served.status;
  assert.equal(status.code, 0, served.output());
  assert.equal(status.signal, null);
  // Each worker says when it took the signal and when its drain ended, as
  // main.ts does: the workers said shutdown.begin and never shutdown.end,
  // so an operator could not tell a finished drain from a hung one.
  const said = (msg: string) =>
    served.records().filter((r) => r.msg === msg).length;
  assert.ok(said("shutdown.begin") >= 1, served.output());
  assert.equal(said("shutdown.end"), said("shutdown.begin"), served.output());
});

Deno.test("deno serve main.ts is refused by Deno: main.ts has no default export", async () => {
  await using tempDataDir = await tempDir({ prefix: "async-api-serve-" });
  const dataDir = tempDataDir.path;
  await using served = startServe({
    // Where main.ts's own listener (`deno run` behaviour) would go.
    PORT: String(freePort()),
    UPSTREAM_URL: "http://127.0.0.1:9",
    DATA_DIR: dataDir,
  }, { entry: MAIN });
  const deadline = Date.now() + 20_000;
  const refusal = /deno serve requires export default \{ fetch \}/;
  while (!refusal.test(served.output()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(served.output(), refusal);
  // Nothing answers on deno serve's port.
  await assert.rejects(
    fetch(`${served.url}/healthz`, { signal: AbortSignal.timeout(5_000) }),
    TypeError,
  );
});

Deno.test("deno serve --parallel with REDIS_URL: 2 workers share one cache, 50 concurrent misses make 1 upstream request", async () => {
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await using tempDataDir = await tempDir({ prefix: "async-api-serve-" });
  const dataDir = tempDataDir.path;
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  await using served = startServe({
    UPSTREAM_URL: upstream.url,
    DATA_DIR: dataDir,
    REDIS_URL: redis.url,
    // Generous for a loaded machine: a timeout would make a worker fetch
    // by itself (correct, but not what this test counts).
    REDIS_TIMEOUT_MS: "1000",
  });
  await waitUntilUp(served, client);
  // Each worker builds its app on its first request and then connects to
  // Redis: ask until both workers say they are connected (bounded).
  const connected = () =>
    served.records().filter((r) => r.msg === "cache.redis_up").length;
  const deadline = Date.now() + 20_000;
  while (connected() < JOBS && Date.now() < deadline) {
    const res = await fetch(`${served.url}/healthz`, { client });
    await res.body?.cancel();
  }
  assert.equal(connected(), JOBS, served.output());

  // The upstream answers in 1 s and the 50 requests start 10 ms apart
  // (over 0.5 s), so all of them are misses overlapping the one fetch. A
  // burst sent at once can all land on one worker on a loaded machine
  // (whichever is scheduled accepts them all); spread this way, both
  // workers take some.
  upstream.setFault("/posts/3", { delayMs: 1_000 });
  const answers = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 10));
      const res = await fetch(`${served.url}/posts/3`, { client });
      const body = await res.json();
      return { status: res.status, id: body.id };
    }),
  );
  assert.ok(answers.every((a) => a.status === 200 && a.id === 3));
  assert.equal(upstream.hits("/posts/3"), 1, served.output());
  // /metrics sums the workers' figures: one miss (the one upstream
  // fetch) in the whole process, the others waited on it (collapsed) or
  // came after it (hits). Both workers answered some of them: each holds
  // /posts/3 in its own in-memory tier, so the entries add up to JOBS.
  const metrics = await (await fetch(`${served.url}/metrics`, { client }))
    .text();
  const count = (series: string) =>
    Number(metrics.match(new RegExp(`^${series} (\\d+)`, "m"))?.[1]);
  assert.equal(count('cache_lookups_total\\{outcome="miss"\\}'), 1);
  assert.ok(count('cache_lookups_total\\{outcome="collapsed"\\}') > 0);
  assert.equal(count("cache_entries"), JOBS, metrics);
  // Every worker connected to Redis (the least of their 1s and 0s).
  assert.equal(count("cache_redis_up"), 1);

  // SIGTERM ends it, Redis connections and all (they kept every worker
  // alive for ever, the listener gone).
  served.kill("SIGTERM");
  const stopped = await exitWithin(served, 10_000);
  assert.ok(stopped, `still running 10 s after SIGTERM\n${served.output()}`);
  assert.equal(stopped.code, 0, served.output());
});

/**
 * Asks `/posts/1` on new connections until every worker has answered it:
 * each worker's own cache misses once, so the upstream then has `JOBS`
 * requests for it (bounded).
 */
async function untilEveryWorkerAnswered(
  served: { url: string },
  upstream: { hits(path: string): number },
  client: Deno.HttpClient,
): Promise<void> {
  await until(
    async () => {
      const res = await fetch(`${served.url}/posts/1`, { client });
      await res.body?.cancel();
      return upstream.hits("/posts/1") >= JOBS;
    },
    `all ${JOBS} workers answering`,
    20_000,
  );
}

Deno.test("deno serve --parallel out of file descriptors: the listener ends, the process exits 1 with an error line, so a supervisor restarts it", async () => {
  await using upstream = startFixtureUpstream();
  const dataDir = await Deno.makeTempDir({ prefix: "async-api-serve-" });
  const sockets: Deno.TcpConn[] = [];
  try {
    using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    await using served = startServe(
      { UPSTREAM_URL: upstream.url, DATA_DIR: dataDir },
      { maxOpenFiles: 128 },
    );
    await waitUntilUp(served, client);
    // Every worker started, and the thread each one's app starts (the
    // upload hash worker, named worker-N) running, before the descriptors
    // run out: one worker answering is not all of them, and a thread Deno
    // starts with none left panics ('worker-2' panicked at
    // runtime/tokio_util.rs: Too many open files), which can end the
    // process before the server.stopped line (seen once under load; 2 of
    // 20 when the flood came while a worker was still starting).
    await untilEveryWorkerAnswered(served, upstream, client);
    await until(
      async () => await threadsNamed(served.pid, /^worker-\d+$/) >= JOBS,
      `${JOBS} hash worker threads running`,
      20_000,
    );
    // Idle sockets past the limit: deno serve's accept() fails with EMFILE,
    // which ends its listener (main.ts's own accept loop survives this:
    // tests/descriptor_exhaustion_test.ts).
    const { hostname, port } = new URL(served.url);
    let exited = false;
    served.status.then(() => exited = true);
    for (let i = 0; i < 400 && !exited; i++) {
      try {
        sockets.push(await Deno.connect({ hostname, port: Number(port) }));
      } catch {
        break; // the listener is gone
      }
    }
    const status = await exitWithin(served, 15_000);
    assert.ok(status, `still running\n${served.output()}`);
    assert.equal(status.code, 1, served.output());
    // On stderr, as every error line.
    assert.match(served.output(), /"level":"error","msg":"server.stopped"/);
  } finally {
    for (const socket of sockets) socket.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
