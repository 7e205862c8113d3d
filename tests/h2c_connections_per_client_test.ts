/**
 * One client address opening many h2c connections of 200 streams each,
 * its flow-control window at 0 (`h2load -c 800 -m 200 -w 0`): the runtime
 * holds every stream (~6 KB of native memory each) until the client reads
 * its answer, which it never does, and the connections stayed open until
 * the keep-alive timeout. On main the process went from ~100 MB to 1 GB
 * and other clients waited 16-23 s. `MAX_HTTP2_CONNECTIONS_PER_CLIENT` closes
 * an address's HTTP/2 connections past the cap at their first request.
 *
 * The attacker is real h2load from 127.0.0.1; the well-behaved clients are
 * curl over h2c from 127.0.0.2 (another address on loopback) and curl over
 * HTTP/1.1 from the attacker's own address (HTTP/1.1 is not counted).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { type SpawnedService, spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

const H2LOAD_INSTALL = "apt-get install -y nghttp2-client";
const CURL_INSTALL = "apt-get install -y curl";

/** The TCP sockets the process `pid` holds open now (/proc/PID/fd). */
async function socketsOf(pid: number): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
    try {
      count += Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`)
          .startsWith("socket:")
        ? 1
        : 0;
    } catch {
      // Closed between the listing and the read.
    }
  }
  return count;
}

/** The resident memory of the process `pid`, MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kib / 1024;
}

/** GETs `/posts/1` with curl and `args`; its status and seconds taken. */
async function probe(
  service: SpawnedService,
  args: string[],
): Promise<string> {
  const out = await runTool("curl", [
    "--silent",
    "--max-time",
    "15",
    "--output",
    "/dev/null",
    "--write-out",
    "%{http_code} %{http_version}",
    ...args,
    `${service.url}/posts/1`,
  ], { install: CURL_INSTALL });
  return out.stdout;
}

Deno.test("h2load's 100 h2c connections of 200 zero-window streams from one address: the connections past MAX_HTTP2_CONNECTIONS_PER_CLIENT are closed, memory stays bounded, and other clients are answered", async () => {
  await using upstream = await startJsonPlaceholder();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    const pid = service.child.pid;
    const warm = await fetch(`${service.url}/posts/1`);
    assert.equal(warm.status, 200);
    await warm.body?.cancel();
    const sockets = await socketsOf(pid);
    const rss = await rssMiB(pid);
    const conns = 100;
    const attack = new Deno.Command("h2load", {
      args: [
        ...["-c", String(conns), "-m", "200", "-w", "0", "-t", "1"],
        ...["-n", String(conns * 200), `${service.url}/posts/1`],
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      // During the attack, from another address over h2c, and from the
      // attacker's own over HTTP/1.1.
      const h2 = await probe(service, [
        "--interface",
        "127.0.0.2",
        "--http2-prior-knowledge",
      ]);
      const h1 = await probe(service, ["--http1.1"]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const held = await socketsOf(pid) - sockets;
      const grownMiB = await rssMiB(pid) - rss;
      assert.equal(h2, "200 2");
      assert.equal(h1, "200 1.1");
      // Before: all 100 held, each with its 200 streams, until
      // KEEPALIVE_TIMEOUT_MS. The default cap is 16.
      assert.ok(held <= 16, `${held} attacker connections held`);
      assert.ok(grownMiB < 100, `RSS grew by ${grownMiB.toFixed(0)} MiB`);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const refused = Number(
        /http_connections_closed_total\{reason="http2_per_client"\} (\d+)/
          .exec(metrics)?.[1],
      );
      assert.equal(refused, conns - 16);
    } finally {
      attack.kill("SIGKILL");
      await attack.status;
    }
  }, "h2c_connections_per_client_test-");
});

Deno.test("MAX_HTTP2_CONNECTIONS_PER_CLIENT=0 takes every h2c connection (no cap), and a bad value is refused in one line", async () => {
  await using upstream = await startJsonPlaceholder();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: {
        UPSTREAM_URL: upstream.url,
        MAX_HTTP2_CONNECTIONS_PER_CLIENT: "0",
      },
    });
    const out = await runTool("h2load", [
      ...["-c", "24", "-n", "48", "-t", "1", `${service.url}/posts/1`],
    ], { install: H2LOAD_INSTALL });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /48 succeeded, 0 failed, 0 errored/);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "--data-dir", dataDir],
      env: { MAX_HTTP2_CONNECTIONS_PER_CLIENT: "-1", PORT: "0" },
      stdout: "piped",
      stderr: "piped",
      // Before the setting existed, the service started and ran on.
      signal: AbortSignal.timeout(20_000),
    }).output();
    assert.equal(bad.code, 2);
    const said = new TextDecoder().decode(bad.stderr).trim();
    assert.match(said, /MAX_HTTP2_CONNECTIONS_PER_CLIENT/);
    assert.equal(said.split("\n").length, 1, said);
  }, "h2c_connections_per_client_test-");
});
