/**
 * Downloads of a stored file by the download managers people use: `aria2c`
 * split over 8 connections (ranged requests), `wget`, and `wget -c`
 * resuming a partial file (one ranged request from where it stopped). Each
 * result is byte-identical to the upload (SHA-256).
 *
 * Needs aria2c and wget (Debian: aria2, wget); CI installs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { randomBytes } from "./fixtures/files_service.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";
import { hashFile, sha256Hex } from "./fixtures/upload_client.ts";

const MiB = 1024 * 1024;

/** The statuses the service logged for GETs of `path`. */
function statusesOf(records: readonly Record<string, unknown>[], path: string) {
  return records
    .filter((r) => r.msg === "request" && r.path === path)
    .map((r) => r.status);
}

Deno.test("aria2c -x8 -s8, wget and wget -c download an uploaded file byte for byte", async () => {
  await using service = await serveApp({});
  const source = randomBytes(8 * MiB + 12345);
  const sha256 = sha256Hex(source);
  const created = await fetch(`${service.url}/files`, {
    method: "POST",
    body: source,
  });
  assert.equal(created.status, 201);
  const { id } = await created.json() as { id: string };
  const url = `${service.url}/files/${id}`;
  const path = `/files/${id}`;

  await withTempDir(async (dir) => {
    const aria = await runTool("aria2c", [
      "-q",
      "-x8",
      "-s8",
      "-k1M",
      "--allow-overwrite=true",
      "-d",
      dir,
      "-o",
      "aria.bin",
      url,
    ], { install: "apt-get install -y aria2" });
    assert.equal(aria.code, 0, aria.stdout + aria.stderr);
    assert.equal((await hashFile(join(dir, "aria.bin"))).sha256, sha256);
    const ranged = statusesOf(service.records, path).filter((s) => s === 206);
    assert.ok(ranged.length >= 4, `aria2c split into ${ranged.length} ranges`);

    const wget = await runTool("wget", ["-q", "-O", "wget.bin", url], {
      install: "apt-get install -y wget",
      cwd: dir,
    });
    assert.equal(wget.code, 0, wget.stderr);
    assert.equal((await hashFile(join(dir, "wget.bin"))).sha256, sha256);

    // A download cut off at 3 MiB + 7 bytes, then resumed.
    await Deno.writeFile(
      join(dir, "part.bin"),
      source.subarray(0, 3 * MiB + 7),
    );
    const before = statusesOf(service.records, path).length;
    const resumed = await runTool("wget", ["-c", "-O", "part.bin", url], {
      install: "apt-get install -y wget",
      cwd: dir,
    });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /206 Partial Content/);
    assert.deepEqual(statusesOf(service.records, path).slice(before), [206]);
    assert.equal((await hashFile(join(dir, "part.bin"))).sha256, sha256);
  });
});
