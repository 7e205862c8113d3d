/**
 * End-to-end tests of the access log's `bytes` for a download cut short
 * (the real service as a child process, `main.ts`, a real TCP client that
 * reads slowly). The line was written at the head with the length
 * announced: a 200 MB file read by `curl --limit-rate 1M` and cut when
 * `SHUTDOWN_GRACE_MS` ran out logged `"bytes":200000000` where curl had
 * 12.5 MB, and so did a client that left mid-download. The line now comes
 * at the body's end with what the connection took, and says why it was
 * `cut` (services/http/send_tally.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ServiceOnUpstream,
  spawnOnUpstream,
} from "./fixtures/upstream_service.ts";

const SIZE = 32 * 1024 * 1024;
// The chunk the runtime may hold, written or not, when the body ends, and
// what it may have begun to write of the next.
const SLACK = 256 * 1024;

/** A started GET of `path`: its socket, the head read off. */
async function slowGet(url: string, path: string) {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`),
  );
  const buffer = new Uint8Array(65_536);
  let received = 0;
  /** Reads until `atLeast` bytes came in all, or the end; the total. */
  const readUpTo = async (atLeast: number) => {
    while (received < atLeast) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      received += n;
    }
    return received;
  };
  return { conn, readUpTo };
}

/** Stores `SIZE` bytes through the service; its id. */
async function stored(url: string): Promise<string> {
  const res = await fetch(`${url}/files`, {
    method: "POST",
    body: new Uint8Array(SIZE).fill(7),
  });
  assert.equal(res.status, 201);
  return (await res.json()).id;
}

/** The service run for these tests, its file stored at `path`. */
async function serviceWithFile(): Promise<
  { started: ServiceOnUpstream; path: string }
> {
  const started = await spawnOnUpstream({
    flags: ["--shutdown-grace-ms", "500"],
    prefix: "download_sent-",
  });
  try {
    return { started, path: `/files/${await stored(started.service.url)}` };
  } catch (error) {
    await started[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test("a download cut by the shutdown logs the bytes its client got, not the length announced", async () => {
  const { started, path } = await serviceWithFile();
  await using _started = started;
  const { service } = started;
  const { conn, readUpTo } = await slowGet(service.url, path);
  // A client that read 1 MiB and reads no more for now.
  await readUpTo(1024 * 1024);
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 0, service.stderr);
  // The client reads what was sent to the end (the exit closed it).
  const received = await readUpTo(Infinity);
  conn.close();
  const line = await service.waitForLine((r) =>
    r.msg === "request" && r.path === path
  );
  assert.equal(line.cut, "shutdown");
  const bytes = line.bytes as number;
  assert.ok(bytes < SIZE, `logged ${bytes} of ${SIZE}`);
  // `received` counts the head too (a few hundred bytes).
  assert.ok(
    Math.abs(bytes - received) <= SLACK,
    `logged ${bytes}, the client got ${received}`,
  );
});

Deno.test("a download its client left logs what the connection took, cut by the client", async () => {
  const { started, path } = await serviceWithFile();
  await using _started = started;
  const { service } = started;
  const { conn, readUpTo } = await slowGet(service.url, path);
  const received = await readUpTo(1024 * 1024);
  conn.close();
  const line = await service.waitForLine((r) =>
    r.msg === "request" && r.path === path
  );
  assert.equal(line.cut, "client");
  const bytes = line.bytes as number;
  // What the kernel's buffers held when the client left counts as taken
  // (a few MB on loopback), the rest of the 32 MiB does not.
  assert.ok(
    bytes >= received - SLACK && bytes < SIZE / 2,
    `logged ${bytes}, the client got ${received} of ${SIZE}`,
  );
});

Deno.test("a download read to its end logs its whole length and no cut, a range its own", async () => {
  const { started, path } = await serviceWithFile();
  await using _started = started;
  const { service } = started;
  const ranges = [undefined, "bytes=100-300000", undefined, undefined];
  for (const [i, range] of ranges.entries()) {
    const res = await fetch(`${service.url}${path}`, {
      headers: { "x-request-id": `whole-${i}`, ...(range && { range }) },
    });
    const got = (await res.bytes()).byteLength;
    const line = await service.waitForLine((r) => r.requestId === `whole-${i}`);
    // The runtime stops at Content-Length and cancels the body rather
    // than ask for its end: these were logged "cut":"client".
    assert.deepEqual([line.bytes, line.cut], [got, undefined]);
  }
});
