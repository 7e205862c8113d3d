/**
 * Python `requests` streaming an upload from a generator of 4 KiB pieces
 * (each one a chunked frame, sent as fast as loopback takes them): on
 * Deno 2.9.6 the runtime reads such a body ahead of its reader, and once
 * behind, each read moves the whole held buffer (`memmove`), so the reads
 * fall further behind. Before, with the frame floor at 1 KiB, the upload
 * never finished (200 MB not stored in 60 s), and once the client gave up
 * the process spun at 100 % CPU in `memmove` and answered nothing, for
 * good. Now the upload gets 400 "Chunks too small" within seconds (the
 * client, still sending, sees its connection reset) and the service keeps
 * answering. And the client has that answer at once: the refused body is
 * cancelled once the answer is out (answered_body.ts `cancelledOnceAnswered`),
 * where the runtime held the connection until a garbage collection.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { spawnUploadService } from "./fixtures/spawn.ts";
import { healthzWithin2s } from "./fixtures/tiny_frames.ts";

const CLIENT = `
import sys, requests
def pieces():
    piece = b"a" * 4096
    for _ in range(200_000_000 // 4096):
        yield piece
try:
    r = requests.post(sys.argv[1], data=pieces(), timeout=60)
    print(r.status_code, r.text)
except requests.exceptions.ConnectionError as error:
    print("reset", error)
`;
import { tempDir } from "./fixtures/temp_dir.ts";

Deno.test("an upload from Python requests in 4 KiB pieces gets 400 'Chunks too small' in seconds, and the service keeps answering", async () => {
  await using tempDataDir = await tempDir({ prefix: "small_pieces-" });
  const dataDir = tempDataDir.path;
  await using service = await spawnUploadService(dataDir);
  const client = new Deno.Command("/usr/bin/python3", {
    args: ["-c", CLIENT, `${service.url}/files`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => client.kill("SIGKILL"), 60_000);
  try {
    // Before, no line came: the upload was still being read at 60 s.
    const line = await service.waitForLine(
      (r) => r.msg === "request" && r.path === "/files",
      { timeoutMs: 30_000 },
    );
    assert.equal(line.status, 400);
    assert.equal(line.upload, "frames_too_small");
    assert.ok((line.durationMs as number) < 20_000, JSON.stringify(line));
    // The client has its answer before a 10 s timer, started at the
    // refusal, fires. Before, the runtime held the connection (the body
    // neither read nor cancelled) until a garbage collection dropped the
    // body: requests, which reads nothing before its body is sent, had its
    // 400 8-28 s after the refusal.
    const timer = new AbortController();
    const first = await Promise.race([
      client.status.then(() => "client"),
      sleep(10_000, "timer", { signal: timer.signal }),
    ]);
    timer.abort();
    assert.equal(first, "client");
  } finally {
    const output = await client.output();
    clearTimeout(killer);
    const said = new TextDecoder().decode(output.stdout);
    assert.match(said, /^(reset|400 .*Chunks too small)/);
  }
  // Answering after the client is gone (before, /healthz got nothing).
  for (let i = 0; i < 3; i++) {
    assert.equal(await healthzWithin2s(service.url), 200);
    await sleep(1_000);
  }
});
