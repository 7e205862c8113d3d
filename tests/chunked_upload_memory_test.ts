/**
 * The upload memory bound that holds whatever the runtime does with a
 * chunked body (README, Uploads, "Which clients the memory bound holds
 * for"): a 128 MiB upload to disk storage sent with a `Content-Length`
 * (fetch with a sized body, as `curl -T file` sends it) or chunked in 1 MiB
 * chunks on the wire (node `http.request` writing 1 MiB at a time, python
 * `requests` with a generator) raises the service's peak resident set by
 * no more than the queue + 32 MiB. Not asserted, because it is Deno's and
 * not the service's: a body chunked in 64 KiB chunks or smaller (Deno's own
 * fetch with a stream body, node writing 64 KiB at a time) is read ahead of
 * a reader that falls behind without bound (+138 to +153 MiB for 256 MiB,
 * the same growth in a bare `Deno.serve`).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  peakRssOf,
  resetPeakRss,
  rssOf,
  startTaskV8Flags,
} from "./fixtures/process_memory.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { tempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

const MiB = 1024 * 1024;
const QUEUE_BYTES = 8 * MiB;
const UPLOAD_MIB = 128;

/** node `http.request` posting `mib` MiB chunked, written `chunk` at a time. */
const NODE_CLIENT = `
const http = require("node:http");
const [url, mib, chunk] = process.argv.slice(1).map((a, i) => i ? Number(a) : a);
const buf = Buffer.alloc(chunk, 9);
let left = mib * 1048576;
const req = http.request(url, { method: "POST" }, (res) => {
  res.resume();
  res.on("end", () => process.exit(res.statusCode === 201 ? 0 : 1));
});
function write() {
  while (left > 0) {
    left -= chunk;
    if (!req.write(buf)) return req.once("drain", write);
  }
  req.end();
}
write();
`;

/** Posts `mib` MiB to `/files` from node in 1 MiB chunks; asserts the 201. */
async function nodeChunked(base: string, mib: number): Promise<void> {
  const out = await runTool(
    "node",
    ["-e", NODE_CLIENT, `${base}/files`, String(mib), String(MiB)],
    { install: "apt-get install -y nodejs" },
  );
  assert.equal(out.code, 0, out.stderr);
}

/** Posts `mib` MiB to `/files` with a `Content-Length`; asserts the 201. */
async function sized(base: string, mib: number): Promise<void> {
  const res = await fetch(`${base}/files`, {
    method: "POST",
    body: new Uint8Array(mib * MiB).fill(7),
  });
  assert.equal(res.status, 201, await res.text());
}

Deno.test({
  name:
    "a 128 MiB upload with a Content-Length or in 1 MiB chunks raises the service's peak RSS by no more than the queue + 32 MiB",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dataDir = await tempDir({ prefix: "chunked-memory-" });
    await using service = await spawnService([], {
      env: {
        DATA_DIR: `${dataDir.path}/data`,
        UPLOAD_QUEUE_BYTES: String(QUEUE_BYTES),
      },
      // As the start task runs it.
      denoArgs: ["-A", await startTaskV8Flags()],
    });
    const pid = service.child.pid;
    // Warm-ups of both kinds (the hash worker, the runtime's buffers).
    await sized(service.url, 8);
    await nodeChunked(service.url, 8);
    const idle = await rssOf(pid);
    for (
      const [name, send] of [["sized", sized], [
        "1 MiB chunks",
        nodeChunked,
      ]] as const
    ) {
      await resetPeakRss(pid);
      await send(service.url, UPLOAD_MIB);
      const grown = (await peakRssOf(pid) - idle) / MiB;
      assert.ok(
        grown <= (QUEUE_BYTES + 32 * MiB) / MiB,
        `${name}: peak RSS grew by ${grown.toFixed(1)} MiB (idle ${
          (idle / MiB).toFixed(1)
        } MiB)`,
      );
    }
  },
});
