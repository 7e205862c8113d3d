/**
 * A shortage of descriptors that files caused must not leave the service
 * serving one connection at a time. Under `ulimit -n 256`, 14 h2c
 * connections with a flow-control window of 0 each hold up to 32 downloads
 * of a stored file (`MAX_STREAMS_PER_CONNECTION`): the descriptors run out
 * with 15 connections open, and the connection cap, lowered to the
 * connections open less 32, became 1. Once those clients had gone, ten
 * clients asking at once closed each other's connections at that cap
 * (143 of 200 requests without an answer by hand), and the cap, kept while
 * reached, stayed as long as such traffic went on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { OPEN_STREAMS, PYTHON } from "./fixtures/h2c_client.ts";
import { storeUnreadable } from "./fixtures/files_service.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Opens `connections` h2c connections of 32 stalled GETs of a path each,
 * prints "open", and closes them when its stdin ends. Arguments: port,
 * path, connections.
 */
const HOLDER = `${OPEN_STREAMS}
port, path, count = sys.argv[1:4]
socks = [open_streams(port, path, 32) for _ in range(int(count))]
print("open", flush=True)
sys.stdin.read()
for s in socks:
    s.close()
`;

/**
 * `requests` GETs of /healthz one after the other on one kept-alive
 * connection: their status lines, fewer when the service closes it.
 */
async function askInTurn(port: number, requests: number): Promise<string[]> {
  const statuses: string[] = [];
  using conn = await Deno.connect({ port });
  const buffer = new Uint8Array(16384);
  for (let i = 0; i < requests; i++) {
    try {
      await conn.write(
        encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      let text = "";
      // A /healthz answer has a small fixed-length JSON body.
      while (!/\r\n\r\n\{.*\}$/s.test(text)) {
        const n = await conn.read(buffer);
        if (n === null) return statuses;
        text += decoder.decode(buffer.subarray(0, n));
      }
      statuses.push(text.slice(0, text.indexOf("\r\n")));
    } catch {
      return statuses;
    }
  }
  return statuses;
}

/** The service's `http_connections_open`, read from its `/metrics`. */
async function openConnections(origin: string): Promise<number> {
  const res = await fetch(new URL("/metrics", origin), {
    headers: { connection: "close" },
  });
  const text = await res.text();
  return Number(/^http_connections_open (\d+)$/m.exec(text)?.[1] ?? NaN);
}

/**
 * Opens four connections every 50 ms, each asking /healthz once and then
 * held open, until `done` says stop; then closes them. Held, they take
 * whatever descriptors the downloads left free, so an accept fails however
 * many those were: the downloads' look-ups of their metadata, in flight
 * when the files ran out, free theirs after (29 free with 4 connections
 * closed after each ask made the test wait for a failed accept in vain,
 * under load).
 */
async function knock(port: number, done: () => boolean): Promise<void> {
  const held: Deno.Conn[] = [];
  const asks: Promise<void>[] = [];
  let closing = false;
  const ask = async () => {
    const conn = await Deno.connect({ port });
    if (closing) return conn.close();
    held.push(conn);
    await conn.write(
      encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    await conn.read(new Uint8Array(16384));
  };
  try {
    while (!done()) {
      for (let i = 0; i < 4; i++) asks.push(ask().catch(() => {}));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    closing = true;
    for (const conn of held) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await Promise.all(asks);
  }
}

Deno.test("descriptors run out with few connections open (h2c downloads): the cap stays usable, and ten clients at once are all answered once those have gone", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      maxOpenFiles: 256,
    });
    const id = await storeUnreadable(service.url);
    const port = Number(new URL(service.url).port);
    const holder = new Deno.Command(PYTHON, {
      args: ["-c", HOLDER, String(port), `/files/${id}`, "14"],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = holder.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    try {
      assert.match((await lines.read()).value ?? "", /^open/);
      // New connections while the files hold the descriptors: an accept
      // fails, and the cap comes down.
      let lowered: Record<string, unknown> | undefined;
      const knocking = knock(port, () => lowered !== undefined);
      lowered = await service.waitForLine(
        (r) => r.msg === "server.connection_cap_lowered",
        { timeoutMs: 20_000 },
      ).finally(() => lowered ??= {});
      await knocking;
      // The files held most of the 256 descriptors, the connections (14
      // and the knocks held) under half.
      assert.ok(
        (lowered.open as number) < 128,
        `few connections held the descriptors: ${JSON.stringify(lowered)}`,
      );
      // Closing connections cannot free what files hold: not below 32
      // (it was 1).
      assert.ok(
        (lowered.cap as number) >= 32,
        `cap ${lowered.cap} with ${lowered.open} open`,
      );
    } finally {
      await holder.stdin.close();
      await lines.cancel();
      await holder.status;
    }
    // The downloads have gone, as the service sees it (the connections it
    // holds closed: it closes connections over the cap, by design), then
    // ten clients at once, twenty requests each on one connection.
    await until(
      async () => (await openConnections(service.url)) <= 1,
      "the held connections closed",
    );
    const answered = await Promise.all(
      Array.from({ length: 10 }, () => askInTurn(port, 20)),
    );
    const statuses = answered.flat();
    assert.equal(
      statuses.filter((s) => s === "HTTP/1.1 200 OK").length,
      200,
      `answers: ${statuses.length}, ${JSON.stringify([...new Set(statuses)])}`,
    );
  });
});
