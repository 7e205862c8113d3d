/**
 * An upload refused over h2c (past `MAX_UPLOAD_BYTES`), whose client then
 * resets the connection: the answer goes out (413), the reset fails the
 * runtime's connection promise, and the linger after a refusal waited on
 * that promise with finally(), whose own promise carried the rejection on
 * unhandled: an `unhandled_rejection` error line with a stack for each
 * such upload (curl --http2-prior-knowledge -T showed it now and then; a
 * reset after the answer shows it every time). `main.ts` runs as a child
 * process with its real server; the client is raw HTTP/2 frames over a
 * socket, from python3 (SO_LINGER 0: a reset on close).
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnUploadService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";
import { until } from "./fixtures/until.ts";

const PYTHON = Deno.env.get("PYTHON3_PATH") ?? "/usr/bin/python3";

/**
 * The h2c client, in Python for SO_LINGER (a reset on close, which Deno's
 * sockets cannot ask for): preface, SETTINGS, HEADERS of a 3 MB upload
 * (literals without indexing, RFC 7541 6.2.2), 48 KiB of DATA, frames
 * read up to the answer's HEADERS, then the connection reset.
 */
const CLIENT = `
import socket, struct, sys
def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
def literal(name, value):
    return b"\\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
block = b"".join(literal(n, v) for n, v in [
    (b":method", b"PUT"), (b":scheme", b"http"), (b":path", b"/files"),
    (b":authority", b"localhost"), (b"content-type", b"application/octet-stream"),
    (b"content-length", b"3000000")])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + frame(4, 0, 0, b"") + frame(1, 4, 1, block)
          + b"".join(frame(0, 0, 1, bytes(16384)) for _ in range(3)))
# Frames read until the answer's HEADERS (type 1) on stream 1.
got = b""
while True:
    at, answered = 0, False
    while at + 9 <= len(got):
        size = int.from_bytes(got[at:at + 3], "big")
        kind, stream = got[at + 3], int.from_bytes(got[at + 5:at + 9], "big") & 0x7FFFFFFF
        if kind == 1 and stream == 1:
            answered = True
        at += 9 + size
    if answered:
        break
    more = s.recv(65536)
    if not more:
        break
    got += more
print(len(got) if answered else 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
`;

/** `http_connections_open` at `url` (the connection asking included). */
async function openConnections(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^http_connections_open (\d+)$/m.exec(text)?.[1]);
}

async function refusedThenReset(port: number): Promise<void> {
  const out = await runTool(PYTHON, ["-c", CLIENT, String(port)], {
    install: "apt-get install -y python3",
  });
  assert.equal(out.code, 0, out.stderr);
  assert.ok(Number(out.stdout) > 0, "no answer read");
}

Deno.test("uploads refused over h2c, their connections then reset, log a 413 each and no error", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnUploadService(dataDir, [
      "--max-upload-bytes",
      "1000",
    ]);
    const port = Number(new URL(service.url).port);
    const uploads = 3;
    for (let i = 0; i < uploads; i++) await refusedThenReset(port);
    const refusals = () =>
      service.lines.filter((line) =>
        line.includes('"status":413') && line.includes('"too_large"')
      );
    await service.waitForLine(() => refusals().length === uploads);
    // The resets seen: each connection's end settled the promise the
    // linger waits on (the rejection went unhandled then, at once).
    await until(
      async () => await openConnections(service.url) <= 1,
      "the reset connections closed",
    );
    // Stopped, its output read to the end: error lines go to stderr.
    await service[Symbol.asyncDispose]();
    assert.equal(service.stderr, "");
    assert.equal(refusals().length, uploads);
  }, "h2c_refused_upload_test-");
});
