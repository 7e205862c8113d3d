/**
 * Downloads whose clients read nothing (`slowhttptest -X`) hold a socket and
 * a file each, and count busy, so no idle connection is left to close when
 * they take every descriptor. Under `ulimit -n 256`, 112 of them locked
 * `/posts/1` out for ~55 s (until `DOWNLOAD_IDLE_TIMEOUT_MS`): each new
 * connection was accepted with the last descriptor, the next accept failed,
 * and the new one, its head not read yet, was the only idle connection, so
 * it was closed (curl: "Empty reply from server"). Out of descriptors, a
 * connection accepted a moment ago is now spared and, with nothing idle,
 * the downloads stalled longest (no byte taken for `STALLED_RECLAIM_MS`)
 * are cut off: the new client is answered.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  giveUpStalled,
  STALLED_RECLAIM_MS,
  withStallTimeout,
} from "../services/http/stall_timeout.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { storeUnreadable } from "./fixtures/files_service.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { firstLine } from "./fixtures/until_closed.ts";

/** `/healthz`'s status, 0 when it is not answered within `ms`. */
async function healthz(url: string, ms: number): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`, {
      signal: AbortSignal.timeout(ms),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

Deno.test("slowhttptest -X holding every descriptor with downloads: a new client is answered in seconds, not after the download idle timeout", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 256,
      // Far past the test: only the cut-off under shortage frees them.
      env: { DOWNLOAD_IDLE_TIMEOUT_MS: "300000" },
    });
    let exited = false;
    service.status.then(() => exited = true);
    const id = await storeUnreadable(service.url);
    // 200 downloads read 32 bytes every 3 s through a 20-byte window: each
    // holds a socket and the file, 2 descriptors, past the 256.
    const slowRead = new Deno.Command("slowhttptest", {
      args: ["-X", "-c", "200", "-r", "50", "-l", "40", "-w", "10", "-y"]
        .concat(["20", "-n", "5", "-z", "32", "-k", "3", "-p", "3"])
        .concat(["-u", `${service.url}/files/${id}`]),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const statuses: number[] = [];
    try {
      await service.waitForLine((r) =>
        r.msg === "server.accept_failed" && r.outOfDescriptors === true
      );
      // The first downloads have stalled for longer than the threshold.
      await new Promise((resolve) =>
        setTimeout(resolve, STALLED_RECLAIM_MS + 1000)
      );
      // Before: each new connection was closed unanswered at once (the
      // only idle one when the next accept failed), for 300 s.
      for (let i = 0; i < 5 && !statuses.includes(200); i++) {
        statuses.push(await healthz(service.url, 3000));
      }
      assert.equal(exited, false, `exited:\n${service.stderr}`);
    } finally {
      try {
        slowRead.kill();
      } catch {
        // it ended by itself
      }
      await slowRead.status;
    }
    assert.ok(statuses.includes(200), `answers: ${statuses}`);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const stalled = Number(
      /^http_connections_closed_total\{reason="stalled"\} (\d+)$/m
        .exec(metrics)?.[1],
    );
    assert.ok(stalled > 0, `stalled downloads cut off: ${stalled}`);
  });
});

/** Whether `conn` gets its first byte within `ms` (left pending if not). */
async function answered(conn: Deno.TcpConn, ms: number): Promise<boolean> {
  let timer: number | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms) as unknown as number;
  });
  // Closing the connection settles a read left pending.
  const first = conn.read(new Uint8Array(1)).then(() => true, () => true);
  const result = await Promise.race([first, late]);
  clearTimeout(timer);
  return result;
}

/**
 * Fills a cap of `count` with downloads of `id` that take their first byte,
 * then nothing more; the caller closes them.
 */
async function stalledDownloads(
  port: number,
  id: string,
  count: number,
): Promise<Deno.TcpConn[]> {
  const readers: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const conn = await Deno.connect({ port });
      readers.push(conn);
      await conn.write(
        new TextEncoder().encode(
          `GET /files/${id} HTTP/1.1\r\nhost: x\r\n\r\n`,
        ),
      );
      assert.ok(await answered(conn, 5000), `download ${i} started`);
    }
  } catch (error) {
    for (const conn of readers) conn.close();
    throw error;
  }
  return readers;
}

/** The first line of the answer to `GET /healthz` on `conn`, "" if none. */
async function statusLine(conn: Deno.TcpConn): Promise<string> {
  try {
    await conn.write(
      new TextEncoder().encode("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"),
    );
  } catch {
    // Reset: closed by the service.
    return "";
  }
  return await firstLine(conn);
}

Deno.test("MAX_CONNECTIONS filled with downloads read by nobody: a new client is answered, not turned away with 503 until the download idle timeout", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { DOWNLOAD_IDLE_TIMEOUT_MS: "300000", MAX_CONNECTIONS: "20" },
    });
    const id = await storeUnreadable(service.url);
    const port = Number(new URL(service.url).port);
    const readers = await stalledDownloads(port, id, 20);
    try {
      await new Promise((resolve) =>
        setTimeout(resolve, STALLED_RECLAIM_MS + 1000)
      );
      // Before: 503 "Too many open connections" for 300 s.
      assert.equal(await healthz(service.url, 5000), 200);
    } finally {
      for (const conn of readers) conn.close();
    }
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(
      metrics,
      /^http_connections_closed_total\{reason="stalled"\} 1$/m,
    );
    assert.match(metrics, /^http_connections_rejected_total 0$/m);
  });
});

Deno.test("MAX_CONNECTIONS filled with stalled downloads, five clients connecting at once: each is answered, none closed for the next", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { DOWNLOAD_IDLE_TIMEOUT_MS: "300000", MAX_CONNECTIONS: "20" },
    });
    const id = await storeUnreadable(service.url);
    const port = Number(new URL(service.url).port);
    const readers = await stalledDownloads(port, id, 20);
    const burst: Deno.TcpConn[] = [];
    let lines: string[];
    try {
      await new Promise((resolve) =>
        setTimeout(resolve, STALLED_RECLAIM_MS + 1000)
      );
      // Connected before any sends its request (as clients of a burst
      // whose heads the runtime has not read yet), then all accepted.
      for (let i = 0; i < 5; i++) burst.push(await Deno.connect({ port }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Before: each new one closed the one before it, the only idle
      // connection (not yet read), rather than a stalled download: four
      // "Empty reply from server".
      lines = await Promise.all(burst.map(statusLine));
    } finally {
      for (const conn of [...readers, ...burst]) conn.close();
    }
    assert.deepEqual(lines, Array(5).fill("HTTP/1.1 200 OK"));
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(
      metrics,
      /^http_connections_closed_total\{reason="stalled"\} 5$/m,
    );
  });
});

Deno.test("giveUpStalled errors the bodies stalled longest first, only those past the threshold, and validates", async () => {
  assert.throws(() => giveUpStalled(0, 0), RangeError);
  assert.throws(() => giveUpStalled(1, -1), RangeError);
  const stalls: string[] = [];
  const body = (name: string) =>
    withStallTimeout(() => new Uint8Array(8), {
      timeoutMs: 60_000,
      onStall: () => stalls.push(name),
    });
  const first = body("first");
  const second = body("second");
  const third = body("third");
  const readers = [first, second, third].map((b) => b.getReader());
  // Each hands on a chunk and then waits for the next request.
  for (const reader of readers) await reader.read();
  // The third is asked again: it is the most recently served.
  await readers[2]!.read();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(giveUpStalled(5, 60_000), 0, "none stalled that long");
  assert.equal(giveUpStalled(2, 10), 2);
  assert.deepEqual(stalls, ["first", "second"]);
  await assert.rejects(readers[0]!.read());
  await assert.rejects(readers[1]!.read());
  assert.equal(giveUpStalled(5, 0), 1);
  assert.deepEqual(stalls, ["first", "second", "third"]);
  await assert.rejects(readers[2]!.read());
  assert.equal(giveUpStalled(5, 0), 0, "a body given up is forgotten");
});
