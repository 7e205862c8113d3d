/**
 * End-to-end test of a shutdown whose grace period is shorter than a
 * running upload: the real service runs as a child process, gets SIGTERM
 * mid-upload with `SHUTDOWN_GRACE_MS` of 300 ms, and the upload must be
 * answered (503 problem+json, `Connection: close`) with its `.part`
 * removed before the process exits 0.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnUploadService } from "./fixtures/spawn.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";
import { assertStoppedUpload, rawRequest } from "./fixtures/upload_client.ts";

const KiB = 1024;

Deno.test("SIGTERM with SHUTDOWN_GRACE_MS shorter than an upload: 503 with Connection: close, no .part left, exit 0", async () => {
  await withTempDir(async (dataDir) => {
    await using service = await spawnUploadService(dataDir, [
      "--shutdown-grace-ms",
      "300",
      "--log-level",
      "debug",
    ]);
    const { hostname, port } = new URL(service.url);
    // 16 KiB every 50 ms for 20 s: far longer than the grace period.
    const chunks = 400;
    let sending = true;
    const slowBody = async function* () {
      for (let i = 0; i < chunks && sending; i++) {
        if (i > 0) await delay(50);
        yield crypto.getRandomValues(new Uint8Array(16 * KiB));
      }
    };
    const upload = rawRequest({ hostname, port: Number(port) }, {
      headers: {
        "content-length": String(chunks * 16 * KiB),
        "content-type": "application/octet-stream",
      },
      body: slowBody(),
      timeoutMs: 15_000,
    });
    let result;
    try {
      // Body bytes are on disk: the .part exists.
      await service.waitForLine((r) =>
        r.msg === "upload.trace" && r.task === "writer" && r.op === "write"
      );
      const filesDir = join(dataDir, "files");
      assert.equal((await listDir(filesDir)).length, 1);
      service.kill("SIGTERM");
      result = await upload;
    } finally {
      sending = false;
    }

    assertStoppedUpload(result);

    const status = await service.status;
    assert.equal(status.code, 0, service.stderr);
    const end = await service.waitForLine((r) => r.msg === "shutdown.end");
    assert.equal(end.outcome, "timeout");
    assert.deepEqual(await listDir(join(dataDir, "files")), []);
  }, "upload_stop_test-");
});
