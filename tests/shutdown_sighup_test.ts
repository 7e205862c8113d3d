/**
 * SIGHUP under `main.ts` (`deno task start`) during an upload: what a
 * closed terminal sends, and what `kill -HUP` sends when meant as a reload.
 * Nothing listened for it, so its default action ended the process at once:
 * the upload was cut off with no answer (curl exit 56) and its `.part` left
 * in `DATA_DIR/files` until the next start's sweep. It now drains as SIGTERM
 * does: the upload finishes within the grace, and the process exits 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { rawRequest } from "./fixtures/upload_client.ts";
import { spawnOnUpstream } from "./fixtures/upstream_service.ts";
import { untilUploading } from "./fixtures/in_flight.ts";

const CHUNK = 64 * 1024;

Deno.test("SIGHUP during an upload: drained as SIGTERM, the upload stored, exit 0", async () => {
  await using started = await spawnOnUpstream({
    flags: ["--shutdown-grace-ms", "10000"],
    prefix: "shutdown_sighup-",
  });
  const { service, dataDir } = started;
  const { promise: signalled, resolve: signal } = Promise.withResolvers<
    void
  >();
  const { hostname, port } = new URL(service.url);
  const upload = rawRequest({ hostname, port: Number(port) }, {
    headers: { "content-length": String(2 * CHUNK) },
    // The second half once the signal came: the upload runs then.
    body: (async function* () {
      yield new Uint8Array(CHUNK).fill(1);
      await signalled;
      yield new Uint8Array(CHUNK).fill(2);
    })(),
    timeoutMs: 15_000,
  }).catch((error: Error) => error);
  try {
    await untilUploading(service.url);
    service.kill("SIGHUP");
    await service.waitForLine((r) => r.msg === "shutdown.begin");
  } finally {
    signal();
  }
  const got = await upload;
  // Before: "Reading the response failed", the process gone.
  if (got instanceof Error) throw got;
  const text = new TextDecoder().decode(got.body);
  assert.equal(got.status, 201, text);
  const status = await service.status;
  assert.equal(status.signal, null, service.stderr);
  assert.equal(status.code, 0, service.stderr);
  const begin = await service.waitForLine((r) => r.msg === "shutdown.begin");
  assert.equal(begin.signal, "SIGHUP");
  const names = [];
  for await (const entry of Deno.readDir(join(dataDir, "files"))) {
    names.push(entry.name);
  }
  assert.deepEqual(names.filter((name) => name.endsWith(".part")), []);
  assert.ok(names.includes(JSON.parse(text).id), names.join(", "));
});
