/**
 * A large answer from memory over HTTP/2: the runtime copies a
 * `Uint8Array` body whole per response and holds the copy until the
 * client has read it, so a client holding its flow-control window at 0
 * made the process hold ~1 MB per stream of the cached `/photos` (200
 * streams on one socket: +190 MB, 10 sockets: +1.9 GB), until the
 * keep-alive timeout; such an answer, given at once, counted idle, outside
 * `MAX_STREAMS_PER_CONNECTION`. Large answers now go out as slices of the
 * cached buffer, count against the streams cap, and are closed on a stall
 * after `DOWNLOAD_IDLE_TIMEOUT_MS` (services/http/large_reply.ts).
 *
 * The hostile client is raw HTTP/2 frames from python3
 * (fixtures/h2c_client.ts); the well-behaved ones are nghttp (nghttp2's
 * client, many streams at once on one connection) and curl over HTTP/1.1.
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
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { type SpawnedService, spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

/**
 * Opens `conns` h2c connections of `streams` GETs of `path` each, window
 * 0, reads what comes for `seconds`, then prints the service's VmRSS (KiB,
 * /proc/PID/status) from before and from now, with every stream still
 * open, and how many answers' HEADERS frames came.
 */
const MANY_STALLED_CLIENT = `${OPEN_STREAMS}
port, pid, path, conns, streams, seconds = sys.argv[1:7]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
before = rss()
socks = [open_streams(port, path, streams) for _ in range(int(conns))]
heads = count_heads(socks, seconds)
print(before, rss(), heads)
for s in socks:
    s.close()
`;

/**
 * Runs `fn` with the service (its data in a temporary folder, `env` added)
 * in front of the real JSONPlaceholder.
 */
async function withService(
  env: Record<string, string>,
  fn: (service: SpawnedService) => Promise<void>,
): Promise<void> {
  await using upstream = await startJsonPlaceholder();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, ...env },
    });
    await fn(service);
  }, "h2c_large_answers_test-");
}

/** The service's cached `/photos` (~1 MB), loaded once. */
async function cachedPhotos(service: SpawnedService): Promise<Uint8Array> {
  const res = await fetch(`${service.url}/photos`);
  assert.equal(res.status, 200);
  const bytes = await res.bytes();
  assert.ok(bytes.byteLength > 900_000, `${bytes.byteLength} bytes`);
  return bytes;
}

Deno.test("h2c clients holding their window at 0 on 200 streams each of the cached /photos grow the service's memory a little, not ~1 MB a stream", async () => {
  await withService({}, async (service) => {
    await cachedPhotos(service);
    const conns = 3;
    const out = await runTool(PYTHON, [
      "-c",
      MANY_STALLED_CLIENT,
      new URL(service.url).port,
      String(service.child.pid),
      "/photos",
      String(conns),
      "200",
      "2",
    ], { install: PYTHON_INSTALL });
    assert.equal(out.code, 0, out.stderr);
    const [before, held, heads] = out.stdout.trim().split(" ").map(Number);
    const grownMiB = (held! - before!) / 1024;
    // Before: +570 MiB (a copy of the body per stream). Now a stream holds
    // a slice, and the runtime's own state: ~+10 MiB.
    assert.ok(grownMiB < 64, `RSS grew by ${grownMiB.toFixed(0)} MiB`);
    // Before: all 600 answered at once, counted idle. Now the large answers
    // count against MAX_STREAMS_PER_CONNECTION (32); the others wait.
    assert.equal(heads, conns * 32);
    const health = await fetch(`${service.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  });
});

Deno.test("a large cached answer reaches well-behaved clients whole: 24 h2c streams at once on one connection (nghttp), and HTTP/1.1 (curl) with its Content-Length", async () => {
  await withService({ MAX_STREAMS_PER_CONNECTION: "4" }, async (service) => {
    const photos = await cachedPhotos(service);
    const size = `${Math.round(photos.byteLength / 1024)}K`;
    const transfers = 24;
    const h2 = await runTool("nghttp", [
      "--null-out",
      "--stat",
      "--multiply",
      String(transfers),
      "--header",
      "accept-encoding: identity",
      `${service.url}/photos`,
    ], { install: "apt-get install -y nghttp2-client" });
    assert.equal(h2.code, 0, h2.stderr);
    const answers = h2.stdout.split("\n").filter((line) =>
      line.trim().endsWith("/photos")
    ).map((line) => line.trim().split(/\s+/).slice(4, 6).join(" "));
    assert.deepEqual(answers, Array(transfers).fill(`200 ${size}`));
    // HTTP/1.1: the same bytes, with Content-Length (not chunked).
    await withTempDir(async (dir) => {
      const h1 = await runTool("curl", [
        "--silent",
        "--http1.1",
        "--dump-header",
        `${dir}/head`,
        "--output",
        `${dir}/body`,
        `${service.url}/photos`,
      ], { install: "apt-get install -y curl" });
      assert.equal(h1.code, 0, h1.stderr);
      const head = await Deno.readTextFile(`${dir}/head`);
      assert.match(
        head,
        new RegExp(`content-length: ${photos.byteLength}\r\n`),
      );
      assert.doesNotMatch(head, /transfer-encoding/i);
      assert.deepEqual(await Deno.readFile(`${dir}/body`), photos);
    }, "h2c_large_answers_test-");
  });
});

Deno.test("an h2c client holding its window at 0 on a large cached answer has its connection closed after DOWNLOAD_IDLE_TIMEOUT_MS, not the keep-alive timeout", async () => {
  await withService({ DOWNLOAD_IDLE_TIMEOUT_MS: "500" }, async (service) => {
    await cachedPhotos(service);
    const closed = await secondsUntilClosed(service.url, "/photos", {
      streams: 8,
      seconds: 5,
    });
    // Before: held for KEEPALIVE_TIMEOUT_MS (75 s), the answers counted idle.
    assert.notEqual(closed, "open", "the connection was never closed");
    assert.ok(Number(closed) < 3, `closed after ${closed} s`);
  });
});
