/**
 * The service survives connection floods (issue 8, item 3): out of file
 * descriptors it waits and serves again; a connection that does not send a
 * complete request head in HEADER_TIMEOUT_MS, or idles between requests past
 * KEEPALIVE_TIMEOUT_MS, is closed; past MAX_CONNECTIONS new connections get
 * 503; an upload whose body is still arriving is not cut by those timers.
 * Every test runs `main.ts` as a child process over real sockets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { scrapeSample } from "./fixtures/exposition.ts";
import {
  healthzStatus,
  type SpawnedService,
  spawnService,
} from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { untilClosed } from "./fixtures/until_closed.ts";

const encoder = new TextEncoder();

function portOf(url: string): number {
  return Number(new URL(url).port);
}

Deno.test("idle and half-sent connections are closed after the header timeout; kept-alive ones after the keep-alive timeout", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { HEADER_TIMEOUT_MS: "400", KEEPALIVE_TIMEOUT_MS: "800" },
    });
    const port = portOf(service.url);

    const silent = await Deno.connect({ port });
    const halfLine = await Deno.connect({ port });
    await halfLine.write(encoder.encode("GET /posts/1 HT"));
    // Slowloris: a header line now and then, never the empty line.
    const slowHeaders = await Deno.connect({ port });
    await slowHeaders.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const drip = setInterval(() => {
      slowHeaders.write(encoder.encode("X-a: b\r\n")).catch(() => {});
    }, 100);
    const results = await Promise.all(
      [silent, halfLine, slowHeaders].map((conn) => untilClosed(conn, 8000)),
    );
    clearInterval(drip);
    for (
      const [name, result] of ["silent", "half line", "slow headers"].map((
        n,
        i,
      ) => [n, results[i]!] as const)
    ) {
      assert.equal(result.open, false, `${name} still open after 8 s`);
      assert.ok(result.ms >= 300, `${name} closed early: ${result.ms} ms`);
    }

    // A complete request is answered, then the idle connection closes.
    const keptAlive = await Deno.connect({ port });
    await keptAlive.write(
      encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    const kept = await untilClosed(keptAlive, 8000);
    assert.match(kept.text, /^HTTP\/1\.1 200 /);
    assert.equal(kept.open, false, "idle keep-alive connection not closed");
    assert.ok(kept.ms >= 600, `closed early: ${kept.ms} ms`);

    assert.ok(
      await scrapeSample(
        service.url,
        'http_connections_closed_total{reason="header_timeout"}',
      ) >= 3,
    );
    assert.ok(
      await scrapeSample(
        service.url,
        'http_connections_closed_total{reason="idle_timeout"}',
      ) >= 1,
    );
  });
});

Deno.test("slowhttptest's slowloris (-H) connections are closed by the header timeout, the service stays available", async () => {
  await withTempDir(async (dir) => {
    await using service = await spawnService(["--data-dir", dir], {
      env: { HEADER_TIMEOUT_MS: "1000" },
    });
    const stats = `${dir}/slowloris`;
    const args = [
      ["-H", "-c", "200", "-r", "200", "-i", "1", "-l", "6", "-t", "GET"],
      ["-u", `${service.url}/healthz`, "-p", "2", "-g", "-o", stats],
    ].flat();
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command("slowhttptest", {
        args,
        stdin: "null",
      }).output();
    } catch (error) {
      throw new Error(
        "slowhttptest is needed (apt-get install -y slowhttptest); CI installs it",
        { cause: error },
      );
    }
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    // Seconds,Closed,Pending,Connected,Service Available
    const rows = (await Deno.readTextFile(`${stats}.csv`)).trim().split("\n")
      .slice(1).map((line) => line.split(",").map(Number));
    // slowhttptest stops once its connections are closed, sampling once
    // a second: the last sample may miss the last few closes. Before the
    // header timeout none was closed in the whole run.
    const closed = Math.max(...rows.map((row) => row[1]!));
    assert.ok(closed >= 20, `closed by the service: ${closed}`);
    assert.ok(
      rows.every((row) => row[4] === 200),
      "service became unavailable",
    );
    assert.ok(
      await scrapeSample(
        service.url,
        'http_connections_closed_total{reason="header_timeout"}',
      ) >= 20,
    );
  });
});

Deno.test("an upload whose body trickles in for longer than both timeouts is stored", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { HEADER_TIMEOUT_MS: "300", KEEPALIVE_TIMEOUT_MS: "300" },
    });
    const conn = await Deno.connect({ port: portOf(service.url) });
    await conn.write(encoder.encode(
      "POST /files HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n" +
        "Connection: close\r\n\r\n",
    ));
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await conn.write(encoder.encode("x"));
    }
    const result = await untilClosed(conn, 8000);
    assert.match(result.text, /^HTTP\/1\.1 201 /, result.text);
    assert.equal(result.open, false);
  });
});

/**
 * Opens `count` connections to `service` one after another, each accepted
 * before the next is opened (its `connection.accepted` line, at debug
 * level), so their order is known; none may be open before.
 */
async function connectInOrder(
  service: SpawnedService,
  count: number,
): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  for (let i = 1; i <= count; i++) {
    conns.push(await Deno.connect({ port: portOf(service.url) }));
    await service.waitForLine((r) =>
      r.msg === "connection.accepted" && r.open === i
    );
  }
  return conns;
}

Deno.test("at MAX_CONNECTIONS the connection idle longest is closed to make room, so idle sockets cannot lock clients out", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { MAX_CONNECTIONS: "4", LOG_LEVEL: "debug" },
    });
    using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    // The service has accepted all four before the next one comes.
    const idle = await connectInOrder(service, 4);
    try {
      const res = await fetch(`${service.url}/healthz`, { client });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      // The oldest idle one made room, long before the header timeout.
      const oldest = await untilClosed(idle.shift()!, 5000);
      assert.equal(oldest.open, false);
      assert.equal(oldest.text, "");
    } finally {
      for (const conn of idle) conn.close();
    }
    // This scrape's own connection may make room too.
    assert.ok(
      await scrapeSample(
        service.url,
        'http_connections_closed_total{reason="reclaimed"}',
      ) >= 1,
    );
    assert.equal(
      await scrapeSample(service.url, "http_connections_rejected_total"),
      0,
    );
  });
});

/** Starts an upload on `conn` whose body then stalls: a request in flight. */
async function stalledUpload(conn: Deno.TcpConn): Promise<void> {
  await conn.write(encoder.encode(
    "POST /files HTTP/1.1\r\nhost: x\r\n" +
      "content-type: application/octet-stream\r\n" +
      "content-length: 100000\r\n\r\nfirst bytes",
  ));
}

Deno.test("past MAX_CONNECTIONS with every connection busy, a new connection gets 503 problem+json, and is served again once under", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { MAX_CONNECTIONS: "4", LOG_LEVEL: "debug" },
    });
    // A client without a pool: every request on a new connection.
    using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const busy = await connectInOrder(service, 4);
    try {
      await Promise.all(busy.map(stalledUpload));
      // Each upload traces its first chunk: then all four are in flight.
      const started = new Set<unknown>();
      while (started.size < 4) {
        const line = await service.waitForLine((r) =>
          r.msg === "upload.trace" && !started.has(r.id)
        );
        started.add(line.id);
      }
      const over = await fetch(`${service.url}/healthz`, {
        client,
        headers: { origin: "http://localhost:5173" },
      });
      assert.equal(over.status, 503);
      assert.equal(over.headers.get("retry-after"), "1");
      // A page reads it (Retry-After is exposed), as every other answer.
      assert.equal(over.headers.get("access-control-allow-origin"), "*");
      assert.match(
        over.headers.get("access-control-expose-headers") ?? "",
        /Retry-After/,
      );
      assert.equal(over.headers.get("vary"), "Origin");
      assert.match(
        over.headers.get("content-type") ?? "",
        /application\/problem\+json/,
      );
      assert.equal((await over.json()).status, 503);
    } finally {
      for (const conn of busy) conn.close();
    }
    // Until the service has seen the four close, it may turn more away.
    let status = 0;
    let turnedAway = 1;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const res = await fetch(`${service.url}/healthz`, { client });
      await res.body?.cancel();
      status = res.status;
      if (status === 503) turnedAway++;
    }
    assert.equal(status, 200);
    assert.equal(
      await scrapeSample(service.url, "http_connections_rejected_total"),
      turnedAway,
    );
  });
});

Deno.test("out of file descriptors, idle connections are closed to make room: a new client is served while they stay open on the client side", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 256,
    });
    const port = portOf(service.url);
    // More than the limit, fewer than the listen backlog: every connect
    // completes at once, whether or not the service has accepted it.
    const conns = await Promise.all(
      Array.from({ length: 400 }, () => Deno.connect({ port })),
    );
    try {
      await service.waitForLine((r) =>
        r.msg === "server.accept_failed" && r.outOfDescriptors === true
      );
      // Well within the 30 s header timeout, which alone freed them before.
      const res = await fetch(`${service.url}/healthz`, {
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      assert.ok(
        await scrapeSample(
          service.url,
          'http_connections_closed_total{reason="reclaimed"}',
        ) >= 1,
      );
    } finally {
      for (const conn of conns) conn.close();
    }
  });
});

Deno.test("out of file descriptors the process keeps running and serves once they free up", async () => {
  await withTempDir(async (dataDir) => {
    // With the default 30 s header timeout, only the accept loop's
    // back-off can save the process here.
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 256,
    });
    const port = portOf(service.url);
    let exited = false;
    service.status.then(() => exited = true);
    // More than the limit, fewer than the listen backlog: every connect
    // completes at once, whether or not the service has accepted it.
    const conns = await Promise.all(
      Array.from({ length: 400 }, () => Deno.connect({ port })),
    );
    try {
      await service.waitForLine((r) =>
        r.msg === "server.accept_failed" && r.outOfDescriptors === true
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(exited, false, `exited:\n${service.stderr}`);
    } finally {
      for (const conn of conns) conn.close();
    }
    const status = await healthzStatus(service, { attempts: 100 });
    assert.equal(exited, false, `exited:\n${service.stderr}`);
    assert.equal(status, 200);
    assert.ok(
      await scrapeSample(service.url, "http_accept_backoffs_total") >= 1,
    );
  });
});
