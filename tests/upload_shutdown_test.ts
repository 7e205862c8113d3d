/**
 * End-to-end test of a graceful shutdown during an upload: the real service
 * runs as a child process (`deno run -A main.ts`), a slow upload is in
 * flight when it gets SIGTERM, and the upload must still be stored intact
 * while new uploads and `/readyz` answer 503, before the process exits 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { spawnService } from "./fixtures/spawn.ts";
import { hashFile, rawRequest } from "./fixtures/upload_client.ts";

const KiB = 1024;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("SIGTERM during an upload: it completes intact, new uploads and /readyz get 503, exit 0", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "upload_shutdown_test-" });
  try {
    await using service = await spawnService([
      "--data-dir",
      dataDir,
      "--upstream-url",
      "http://127.0.0.1:9",
      "--shutdown-grace-ms",
      "20000",
      // The trace shows when the first body bytes have arrived.
      "--log-level",
      "debug",
    ]);
    const { hostname, port } = new URL(service.url);

    // 40 chunks of 64 KiB, one every 50 ms (~2 s); halfway through, the
    // body waits until the drain has been checked, so the upload is
    // certainly still running then, however slow the machine.
    const chunkBytes = 64 * KiB;
    const chunks = 40;
    const hash = createHash("sha256");
    const drainChecked = Promise.withResolvers<void>();
    const slowBody = async function* () {
      for (let i = 0; i < chunks; i++) {
        if (i > 0) await delay(50);
        if (i === chunks / 2) await drainChecked.promise;
        const chunk = new Uint8Array(chunkBytes);
        crypto.getRandomValues(chunk);
        hash.update(chunk);
        yield chunk;
      }
    };
    const size = chunks * chunkBytes;
    const slowUpload = rawRequest({ hostname, port: Number(port) }, {
      headers: {
        "content-length": String(size),
        "content-type": "application/octet-stream",
      },
      body: slowBody(),
      timeoutMs: 60_000,
    });

    let result;
    try {
      // The server is reading the body.
      await service.waitForLine((r) =>
        r.msg === "upload.trace" && r.task === "reader" && r.op === "read"
      );
      service.kill("SIGTERM");
      const begin = await service.waitForLine((r) =>
        r.msg === "shutdown.begin"
      );
      assert.equal(begin.signal, "SIGTERM");

      // While the upload drains, the server still answers, but takes no
      // new upload and reports itself not ready.
      const refused = await fetch(`${service.url}/files`, {
        method: "POST",
        body: new TextEncoder().encode("too late"),
      });
      assert.equal(refused.status, 503, await refused.text());
      assert.equal(refused.headers.get("retry-after"), "5");
      const ready = await fetch(`${service.url}/readyz`);
      assert.equal(ready.status, 503, await ready.text());
      const health = await fetch(`${service.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      drainChecked.resolve();
      result = await slowUpload;
    }

    const text = new TextDecoder().decode(result.body);
    assert.equal(result.status, 201, text);
    const created = JSON.parse(text);
    const sent = hash.digest("hex");
    assert.equal(created.size, size);
    assert.equal(created.sha256, sent);

    const status = await service.status;
    assert.equal(status.code, 0, service.stderr);
    const end = await service.waitForLine((r) => r.msg === "shutdown.end");
    assert.equal(end.outcome, "drained");

    // Stored intact, and nothing partial left behind.
    const filesDir = join(dataDir, "files");
    assert.deepEqual(await hashFile(join(filesDir, created.id)), {
      sha256: sent,
      size,
    });
    const names = [];
    for await (const entry of Deno.readDir(filesDir)) names.push(entry.name);
    assert.deepEqual(names.sort(), [created.id, `${created.id}.json`]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
