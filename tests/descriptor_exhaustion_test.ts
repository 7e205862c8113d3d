/**
 * Out of file descriptors because of requests in flight (downloads that
 * clients read slowly hold a socket and a file each), the process lives on:
 * a request whose file cannot be opened gets 503 with `Retry-After`, and
 * the service serves again once descriptors free up. Deno 2.9 panics when
 * a stack trace is formatted while out of descriptors, which the error
 * handler's log of the failed open used to do, and when a worker thread is
 * started then, which the first upload of a process used to do.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { createPipeline } from "../routes/pipeline.ts";
import { createLogger } from "../services/ops/logger.ts";
import { Metrics } from "../services/ops/metrics.ts";
import { ConnectionSet } from "../services/server/connection_set.ts";
import { ConnectionStats } from "../services/server/connection_stats.ts";
import { connectionServer } from "../services/server/serve_connection.ts";
import { healthzStatus, spawnService } from "./fixtures/spawn.ts";
import { storeUnreadable } from "./fixtures/files_service.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const encoder = new TextEncoder();

/** A pipeline whose one route, `GET /open`, fails for want of descriptors. */
function emfilePipeline(lines: string[], metrics: Metrics) {
  return createPipeline({
    routes: [{
      method: "GET",
      pattern: "/open",
      handler: () => {
        throw Object.assign(new Error("Too many open files (os error 24)"), {
          code: "EMFILE",
        });
      },
    }],
    logger: createLogger({ write: (line) => lines.push(line) }),
    metrics,
  });
}

Deno.test("a route failing for want of descriptors answers 503 with Retry-After, logged as a failed request", async () => {
  const lines: string[] = [];
  using metrics = new Metrics();
  const pipeline = emfilePipeline(lines, metrics);
  const res = await pipeline.fetch(new Request("http://localhost/open"));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.requestId, res.headers.get("x-request-id"));
  const failed = lines.map((line) => JSON.parse(line))
    .find((r) => r.msg === "request.failed");
  assert.equal(failed?.status, 503);
});

Deno.test("many requests failing for want of descriptors make one request.failed line counting them, each its access line", async () => {
  const lines: string[] = [];
  using metrics = new Metrics();
  const pipeline = emfilePipeline(lines, metrics);
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    pipeline.fetch,
  );
  // slowhttptest -X under ulimit -n 1024: each download whose file could
  // not be opened wrote an error line (64), beside its access line.
  const requests = 20;
  for (let i = 0; i < requests; i++) {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/open`);
    await res.body?.cancel();
    assert.equal(res.status, 503);
  }
  const records = lines.map((line) => JSON.parse(line));
  const access = records.filter((r) => r.msg === "request");
  assert.equal(access.length, requests);
  assert.ok(access.every((r) => r.status === 503));
  const failed = records.filter((r) => r.msg === "request.failed");
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0].level, "error");
  assert.equal(failed[0].requestId, access[0].requestId);
  assert.deepEqual(failed[0].failed, { emfile: 1 });
});

Deno.test("downloads read slowly until out of descriptors: the process lives on, answers 200 or 503, and serves again", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 128,
    });
    let exited = false;
    service.status.then(() => exited = true);
    const id = await storeUnreadable(service.url);
    const port = Number(new URL(service.url).port);
    // Each asks for the file and never reads: a socket and a file held.
    const readers: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 150 && !exited; i++) {
        const conn = await Deno.connect({ port });
        readers.push(conn);
        await conn.write(
          encoder.encode(`GET /files/${id} HTTP/1.1\r\nhost: x\r\n\r\n`),
        );
      }
      // Out of descriptors shows first in one of two calls, which one is
      // timing: a download's file open (answered 503), or the accept of a
      // new connection (logged; the loop frees idle connections and backs
      // off). Reclaimed idle connections, and downloads cut off when a
      // read's short-lived duplicate descriptor fails, free descriptors
      // that later opens then get, so a 503 is not certain.
      const exhausted = await service.waitForLine((r) =>
        (r.msg === "request" && r.route === "/files/:id" &&
          r.status !== 200) ||
        (r.msg === "server.accept_failed" && r.outOfDescriptors === true)
      );
      if (exhausted.msg === "request") assert.equal(exhausted.status, 503);
    } finally {
      for (const conn of readers) conn.close();
    }
    const status = await healthzStatus(service);
    assert.equal(exited, false, `exited:\n${service.stderr}`);
    assert.equal(status, 200);
    // Every download that got an answer got the file or a 503.
    const statuses = new Set(
      service.lines.map((line) => JSON.parse(line))
        .filter((r) => r.msg === "request" && r.route === "/files/:id")
        .map((r) => r.status),
    );
    assert.deepEqual([...statuses].filter((s) => s !== 200 && s !== 503), []);
  });
});

Deno.test("the first upload of a process during slowhttptest's slowloris (descriptors exhausted): 201 or 503, and the process lives", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 256,
    });
    let exited = false;
    service.status.then(() => exited = true);
    const slowloris = new Deno.Command("slowhttptest", {
      args: ["-H", "-c", "800", "-r", "200", "-i", "10", "-l", "15", "-t"]
        .concat(["GET", "-u", `${service.url}/healthz`, "-p", "3"]),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await service.waitForLine((r) =>
        r.msg === "server.accept_failed" && r.outOfDescriptors === true
      );
      // No 5 s more "until all 800 are open": the connection cap taken
      // from the descriptor limit keeps 32 free, and with the worker
      // started by the first upload again (8a42525 reverted) this passed
      // after 0 s and after 5 s alike.
      // The hash worker started with the first upload: a thread started
      // out of descriptors ended the process (Deno 2.9 panics setting up
      // the worker's stdio); it now starts with the app.
      const upload = await fetch(`${service.url}/files`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(5 << 20),
      }).catch(() => undefined);
      await upload?.body?.cancel();
      assert.ok(
        upload === undefined || [201, 503].includes(upload.status),
        `upload: ${upload?.status}`,
      );
    } finally {
      try {
        slowloris.kill();
      } catch {
        // it ended by itself (every connection closed)
      }
      await slowloris.status;
    }
    // It stops asking once the process has exited.
    const status = await healthzStatus(service);
    assert.equal(exited, false, `exited:\n${service.stderr}`);
    assert.equal(status, 200);
  });
});

/** A connection set serving `() => "ok"` on the runtime's own server. */
function okConnections(stats: ConnectionStats): ConnectionSet {
  const serveConnection = connectionServer();
  assert.ok(serveConnection, "Deno.serve's per-connection server");
  return new ConnectionSet({
    serveConnection,
    handler: () => new Response("ok"),
    onError: () => new Response(null, { status: 500 }),
    headerTimeoutMs: 60_000,
    keepAliveTimeoutMs: 60_000,
    maxStreams: 100,
    maxHttp2PerClient: 0,
    maxHttp2: 0,
    stats,
  });
}

// 3,000 idle sockets past the descriptor limit, all closed at once, ended
// the process (17320e9): the service reclaimed idle connections whose end
// had reached the runtime but not yet the connection set, and the runtime's
// abort listener threw BadResource, uncaught. Out of descriptors was only
// what made the service reclaim then, and the timing of that test's
// sockets whether one landed in that window: 2 runs of 3 once, none
// lately (it passed with the fix reverted). Here the reclaim is called in
// each turn of the event loop while the ends come in, so some land in it:
// every run (18 of 18) failed with the fix reverted ("BadResource: Bad
// resource ID", uncaught), in 0.1-0.5 s.
Deno.test("idle connections reclaimed while their clients' ends come in: no uncaught error (it ended the process), all closed", async () => {
  const stats = new ConnectionStats();
  const connections = okConnections(stats);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const count = 200;
  const clients = await Promise.all(
    Array.from(
      { length: count },
      () => Deno.connect({ port: listener.addr.port }),
    ),
  );
  for (let i = 0; i < count; i++) connections.add(await listener.accept());
  listener.close();
  for (const conn of clients) conn.close();
  // One per turn: the turn after an end is read and before the set hears
  // of it is the one that threw (setTimeout's 4 ms clamp skipped it).
  while (connections.size > 0) {
    connections.reclaimIdle(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await connections.shutdown();
  assert.equal(stats.open, 0);
});

/**
 * Asks for `/healthz` on a connection of its own (as a new client does;
 * `fetch` would reuse a pooled one) and resolves the status line, or
 * `undefined` when nothing came within `timeoutMs`.
 */
async function newClientStatus(
  port: number,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const conn = await Deno.connect({ port });
  const close = () => {
    try {
      conn.close();
    } catch {
      // closed already (its readable read to the end closes it)
    }
  };
  deadline.addEventListener("abort", close, { once: true });
  try {
    await conn.write(
      encoder.encode(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      ),
    );
    const text = await new Response(conn.readable).text();
    return text.split("\r\n", 1)[0];
  } catch {
    return undefined;
  } finally {
    close();
  }
}

/**
 * Keeps connecting sockets to `port` that never send a byte, 100 at a time,
 * until `signal` aborts or `count` are open; resolves them all.
 */
async function idleFlood(port: number, count: number, signal: AbortSignal) {
  const idle: Deno.TcpConn[] = [];
  while (idle.length < count && !signal.aborted) {
    const batch = await Promise.allSettled(
      Array.from({ length: 100 }, () => Deno.connect({ port })),
    );
    for (const result of batch) {
      if (result.status === "fulfilled") idle.push(result.value);
    }
  }
  return idle;
}

Deno.test("an idle-socket flood under ulimit -n 256 with MAX_CONNECTIONS above it: a new client is answered, the descriptor limit taken as the cap", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 256,
    });
    const port = Number(new URL(service.url).port);
    const stop = new AbortController();
    const flooding = idleFlood(port, 8000, stop.signal);
    try {
      await service.waitForLine((r) =>
        r.msg === "server.accept_failed" && r.outOfDescriptors === true
      );
      // A new client is answered (each took 3.2 s here at load 11, its
      // SYN sent again twice; 16-19 s for five before the cap, at load
      // 15-34). How fast is the machine's load to say; what made it fast
      // is the cap taken from the descriptor limit, asserted next (that
      // line never came before). One client, not five: they took the same
      // time each, and the line is what tells. The bound is a hang
      // detector, not a speed.
      assert.equal(await newClientStatus(port, 30_000), "HTTP/1.1 200 OK");
      const lowered = await service.waitForLine((r) =>
        r.msg === "server.connection_cap_lowered"
      );
      // The connections holding descriptors then, less 32 left for files
      // and upstream sockets.
      assert.equal(lowered.cap, (lowered.open as number) - 32);
      // The loop's recovery is said only after an accept_failed line (one
      // per 10 s), not at each: by hand, 511 accepting_again lines in 30 s
      // of such a flood against 4 of accept_failed.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const said = (msg: string) =>
        service.lines.filter((line) => line.includes(`"msg":"${msg}"`))
          .length;
      const again = said("server.accepting_again");
      const failed = said("server.accept_failed");
      assert.ok(again <= failed, `${again} accepting_again, ${failed} failed`);
    } finally {
      stop.abort();
      for (const conn of await flooding) conn.close();
    }
  });
});
