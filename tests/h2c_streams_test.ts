/**
 * One HTTP/2 connection carries many requests at once (the runtime lets a
 * client open 200 streams), so what bounds a connection over HTTP/1.1, one
 * request at a time, did not hold over h2c: a client that opened 200
 * downloads of a stored file on one connection, with its flow-control
 * window at 0 so nothing is ever sent, held 200 of the service's files open
 * for `DOWNLOAD_IDLE_TIMEOUT_MS` (60 s) from one socket; two such
 * connections under `ulimit -n 256` took every descriptor, and no client
 * could connect. `MAX_STREAMS_PER_CONNECTION` bounds the requests handled
 * at once on one connection; the others wait their turn on it, and are
 * served as the first ones end.
 *
 * The hostile client is raw HTTP/2 frames from python3 (a window of 0 is
 * what no ordinary client sends); the well-behaved one is nghttp (nghttp2's
 * client) sending its requests at once over one connection. curl 7.88's
 * `--parallel` with `--http2-prior-knowledge` fails every transfer but the
 * first with "Error in the HTTP2 framing layer", whatever the server.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  OPEN_STREAMS,
  PYTHON,
  PYTHON_INSTALL,
  secondsUntilClosed,
} from "./fixtures/h2c_client.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

/**
 * Opens `streams` downloads of `path` on one h2c connection whose window is
 * 0 (SETTINGS_INITIAL_WINDOW_SIZE), reads what comes for `seconds`, then
 * prints how many descriptors the service holds open on the `stored` file
 * (/proc/PID/fd) and how many answers' HEADERS frames came. Counted once
 * every stream is in: samples taken all along counted one descriptor more
 * than the cap now and then, for a moment.
 */
const ZERO_WINDOW_CLIENT = `${OPEN_STREAMS}
import os
port, pid, stored, path, streams, seconds = sys.argv[1:7]
def open_files():
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}") == stored
        except OSError:
            pass
    return count
s = open_streams(port, path, streams)
heads = count_heads([s], seconds)
print(open_files(), heads)
s.close()
`;

/**
 * Holds `held` downloads of `hold` on one h2c connection (window 0), then
 * opens `reset` GETs of `path` % n (n = 1, 2, ...), which wait their turn
 * behind them, and resets them (RST_STREAM CANCEL) once the service has
 * them; then resets the held downloads, which frees their places, and
 * asks `/healthz` on the same connection. Prints how many answers' HEADERS
 * frames came in all.
 */
const RESET_WAITING_CLIENT = `${OPEN_STREAMS}
port, hold, held, path, reset = sys.argv[1:6]
held, reset = int(held), int(reset)
def get(target):
    return b"".join(literal(n, v) for n, v in [(b":method", b"GET"), (b":scheme", b"http"),
        (b":path", target.encode()), (b":authority", b"localhost")])
def cancel(ids):
    s.sendall(b"".join(frame(3, 0, i, struct.pack(">I", 8)) for i in ids))
s = open_streams(port, hold, held)
time.sleep(0.3)
waiting = [1 + 2 * (held + i) for i in range(reset)]
s.sendall(b"".join(frame(1, 5, sid, get(path % (n + 1))) for n, sid in enumerate(waiting)))
time.sleep(0.3)
cancel(waiting)
time.sleep(0.3)
cancel([1 + 2 * i for i in range(held)])
s.sendall(frame(1, 5, 1 + 2 * (held + reset), get("/healthz")))
print(count_heads([s], 1.5))
s.close()
`;

/** Uploads `bytes` zero bytes as a stored file; its id. */
async function storeFile(url: string, bytes: number): Promise<string> {
  const res = await fetch(`${url}/files`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: new Uint8Array(bytes),
  });
  assert.equal(res.status, 201);
  return (await res.json()).id;
}

Deno.test("one h2c connection with its window at 0 holds at most MAX_STREAMS_PER_CONNECTION stored files open, not one per stream", async () => {
  await withTempDir(async (dataDir) => {
    const maxStreams = 4;
    await using service = await spawnService(["--data-dir", dataDir], {
      env: {
        UPSTREAM_URL: "http://127.0.0.1:9",
        MAX_STREAMS_PER_CONNECTION: String(maxStreams),
      },
    });
    const id = await storeFile(service.url, 1 << 20);
    const streams = 40;
    const out = await runTool(PYTHON, [
      "-c",
      ZERO_WINDOW_CLIENT,
      new URL(service.url).port,
      String(service.child.pid),
      await Deno.realPath(`${dataDir}/files/${id}`),
      `/files/${id}`,
      String(streams),
      "1.5",
    ], { install: PYTHON_INSTALL });
    assert.equal(out.code, 0, out.stderr);
    const [open, answered] = out.stdout.trim().split(" ").map(Number);
    // Before the cap: 40 files open (one per stream), 40 answers begun.
    assert.ok(
      open! <= maxStreams,
      `${open} files open at once on one connection`,
    );
    assert.equal(answered, maxStreams, "the first streams are answered");
    // The service still serves others.
    const health = await fetch(`${service.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  }, "h2c_streams_test-");
});

Deno.test("requests past MAX_STREAMS_PER_CONNECTION on one h2c connection wait their turn and are all served", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: {
        UPSTREAM_URL: "http://127.0.0.1:9",
        MAX_STREAMS_PER_CONNECTION: "2",
      },
    });
    const size = 256 << 10;
    const id = await storeFile(service.url, size);
    const transfers = 24;
    // nghttp (nghttp2's client) sends all of them at once on one connection
    // and prints one line per stream: id, times, status, size, path.
    const out = await runTool("nghttp", [
      "--null-out",
      "--stat",
      "--multiply",
      String(transfers),
      `${service.url}/files/${id}`,
    ], { install: "apt-get install -y nghttp2-client" });
    assert.equal(out.code, 0, out.stderr);
    const answers = out.stdout.split("\n").filter((line) =>
      line.trim().endsWith(`/files/${id}`)
    ).map((line) => line.trim().split(/\s+/).slice(4, 6).join(" "));
    // Every stream answered 200 with the whole file (256 KiB).
    assert.deepEqual(answers, Array(transfers).fill("200 256K"));
  }, "h2c_streams_test-");
});

/** How many descriptors process `pid` has open on `path`. */
async function openOn(pid: number, path: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
    try {
      if (await Deno.readLink(`/proc/${pid}/fd/${entry.name}`) === path) {
        count++;
      }
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

Deno.test("an h2c download whose client keeps its window at 0 is closed after DOWNLOAD_IDLE_TIMEOUT_MS, connection and all", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: {
        UPSTREAM_URL: "http://127.0.0.1:9",
        DOWNLOAD_IDLE_TIMEOUT_MS: "500",
        MAX_STREAMS_PER_CONNECTION: "2",
      },
    });
    const id = await storeFile(service.url, 1 << 20);
    // Two streams handled, four waiting for them when the connection closes.
    const closed = await secondsUntilClosed(service.url, `/files/${id}`, {
      streams: 6,
      seconds: 5,
    });
    // Before: the body's error went unnoticed while the window was 0, and
    // the connection, busy, outlived every timer ("open").
    assert.notEqual(closed, "open", "the connection was never closed");
    assert.ok(Number(closed) < 3, `closed after ${closed} s`);
    // The requests that were waiting are not handled on the closed
    // connection: no file is left open for an answer nobody sends.
    const stored = await Deno.realPath(`${dataDir}/files/${id}`);
    const pid = service.child.pid;
    const deadline = Date.now() + 3000;
    while (await openOn(pid, stored) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await openOn(pid, stored), 0);
  }, "h2c_streams_test-");
});

Deno.test("requests an h2c client resets while they wait their turn are not handled when it comes", async () => {
  await withTempDir(async (dataDir) => {
    await using upstream = startFixtureUpstream();
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, MAX_STREAMS_PER_CONNECTION: "2" },
    });
    const id = await storeFile(service.url, 1 << 20);
    const out = await runTool(PYTHON, [
      "-c",
      RESET_WAITING_CLIENT,
      new URL(service.url).port,
      `/files/${id}`,
      "2",
      "/posts/%d",
      "10",
    ], { install: PYTHON_INSTALL });
    assert.equal(out.code, 0, out.stderr);
    // Before: the ten reset streams stayed in the line and, once the held
    // downloads were reset, each was handled for nobody: ten upstream
    // calls (with HEADERS then RST_STREAM paced under the runtime's
    // rapid-reset guard, the line grew by ~4 KB a stream for as long).
    assert.equal(upstream.hits(/^\/posts\/\d+$/), 0);
    // The two downloads' heads and /healthz's: the connection still serves.
    assert.equal(Number(out.stdout.trim()), 3);
  }, "h2c_streams_test-");
});
