/**
 * Summaries in flight hold no copy of their parts. A summary was its
 * parts' stored bytes joined into one buffer per request, held until its
 * client had read it: against an upstream with 15 MB lists, 16 summaries
 * at once took the process to 1.03 GB. Now a summary is sent as views of
 * the cached parts (routes/jsonplaceholder/summary.ts), so 16 held by
 * clients that read only their head cost about what one does.
 *
 * The service runs as a child process and its resident set is read from
 * outside (VmRSS, fixtures/process_memory.ts), as in memory_test.ts; the bound
 * is generous (the machine is shared), the failure it catches 4 times it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { rssOf } from "./fixtures/process_memory.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const MiB = 1024 * 1024;
// Three lists of this size: a 36 MB summary.
const LIST_BYTES = 12_000_000;
const CLIENTS = 16;

/**
 * A connection that asked for `path` and read the first bytes of its
 * answer (the head: the summary was built), and no more.
 */
async function headReadOnly(port: number, path: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`),
  );
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  const head = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  assert.match(head, /^HTTP\/1\.1 200 /);
  return conn;
}

Deno.test("16 large summaries held by clients reading nothing hold no copy each", async () => {
  await using upstream = startFixtureUpstream();
  for (const part of ["posts", "todos", "albums"]) {
    upstream.setFault(`/users/1/${part}`, { hugeBodyBytes: LIST_BYTES });
  }
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, CACHE_TTL_SECONDS: "600" },
    });
    const port = Number(new URL(service.url).port);
    const url = `${service.url}/users/1/summary`;
    const whole = await fetch(url, {
      headers: { "accept-encoding": "identity" },
    });
    const length = (await whole.bytes()).byteLength;
    assert.ok(length > 3 * LIST_BYTES, `${length} bytes`);
    const pid = service.child.pid;
    const before = await rssOf(pid);
    const conns = await Promise.all(
      Array.from(
        { length: CLIENTS },
        () => headReadOnly(port, "/users/1/summary"),
      ),
    );
    const grown = (await rssOf(pid)) - before;
    for (const conn of conns) conn.close();
    // Before: each held its own joined copy, 16 x 36 MB (~580 MB).
    assert.ok(
      grown < (CLIENTS * length) / 4,
      `${CLIENTS} summaries of ${(length / MiB).toFixed(0)} MiB held: ` +
        `+${(grown / MiB).toFixed(0)} MiB`,
    );
  });
});
