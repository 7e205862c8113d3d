/**
 * Uploads without a length (`Transfer-Encoding: chunked`, as `curl -T -`
 * and streaming clients send them), from a real curl over loopback: read
 * at the rate of the network, and refused at the limit without holding
 * the service.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startService } from "./fixtures/files_service.ts";

/** A file of `mib` MiB of zeros in `dir`. */
async function zerosFile(dir: string, mib: number): Promise<string> {
  const path = join(dir, `zeros-${mib}`);
  using file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i < mib; i++) await file.write(chunk);
  return path;
}

/** `curl -T path` chunked to `url`: the status and the seconds it took. */
async function curlChunked(url: string, path: string) {
  const { stdout } = await new Deno.Command("curl", {
    args: [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{time_total}",
      "-H",
      "Transfer-Encoding: chunked",
      "-T",
      path,
      "--max-time",
      "120",
      url,
    ],
    stdout: "piped",
  }).output();
  const [status, seconds] = new TextDecoder().decode(stdout).split(" ");
  return { status: Number(status), seconds: Number(seconds) };
}

Deno.test("A chunked upload over MAX_UPLOAD_BYTES gets 413 at once, and the service answers meanwhile", async () => {
  await using service = await startService([
    "--max-upload-bytes",
    String(32 * 1024 * 1024),
  ]);
  const dir = await Deno.makeTempDir({ prefix: "chunked_upload-" });
  try {
    const path = await zerosFile(dir, 512);
    const healthz = async () => {
      const started = performance.now();
      const res = await fetch(`${service.url}/healthz`);
      await res.body?.cancel();
      return performance.now() - started;
    };
    const sent = curlChunked(`${service.url}/files`, path);
    // Probes while the body streams in: each answered, none held up.
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) probes.push(await healthz());
    const { status, seconds } = await sent;
    assert.equal(status, 413);
    // Read at a chunk a time the 32 MiB go in well under a second; with
    // 256 KiB views (Deno 2.9's slow BYOB path) the 413 took ~5 s and the
    // service stalled for seconds after it.
    assert.ok(seconds < 3, `413 after ${seconds} s`);
    probes.push(await healthz());
    assert.ok(Math.max(...probes) < 1000, `probes took ${probes} ms`);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(service.filesDir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
