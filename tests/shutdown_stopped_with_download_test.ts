/**
 * SIGTERM under `main.ts` with an upload that outlasts the grace and a
 * download read slowly, both in flight. Past the grace the upload is
 * stopped (503) and the drain waits for the stopped answers to be sent,
 * `STOP_UPLOADS_MS` at most; but it waited for every connection to end, the
 * download's too, which only the exit ends: every such shutdown took the
 * whole 2 s more (7 s grace, the image's: exit 9.05 s after SIGTERM, of
 * `docker stop`'s 10 s before SIGKILL). The downloads are cut as soon as
 * the uploads are stopped (the exit cut them anyway), so the exit follows
 * the 503s.
 *
 * @module
 */

import assert from "node:assert/strict";
import { STOP_UPLOADS_MS } from "../main.ts";
import { assertStoppedUpload, rawRequest } from "./fixtures/upload_client.ts";
import { spawnOnUpstream } from "./fixtures/upstream_service.ts";
import { slowDownload, untilUploading } from "./fixtures/in_flight.ts";

const SIZE = 16 * 1024 * 1024;
const GRACE_MS = 500;
const CHUNK = 64 * 1024;

Deno.test("SIGTERM with an upload past the grace and a slow download: the exit follows the 503, not STOP_UPLOADS_MS later", async () => {
  await using started = await spawnOnUpstream({
    flags: ["--shutdown-grace-ms", String(GRACE_MS)],
    prefix: "shutdown_stopped_dl-",
  });
  const { service } = started;
  const { path, received: download } = await slowDownload(service.url, SIZE);
  const { promise: ended, resolve: end } = Promise.withResolvers<void>();
  const { hostname, port } = new URL(service.url);
  const upload = rawRequest({ hostname, port: Number(port) }, {
    headers: { "content-length": String(2 * CHUNK) },
    body: (async function* () {
      yield new Uint8Array(CHUNK);
      await ended;
      yield new Uint8Array(CHUNK);
    })(),
    timeoutMs: 15_000,
  });
  try {
    await untilUploading(service.url);
    service.kill("SIGTERM");
    const last = await service.waitForLine((r) => r.msg === "shutdown.end");
    // The request is sent whole before its answer is read.
    end();
    assertStoppedUpload(await upload);
    assert.equal(last.outcome, "timeout");
    // Before: GRACE_MS + STOP_UPLOADS_MS, always (2,5xx ms).
    assert.ok(
      (last.durationMs as number) < GRACE_MS + STOP_UPLOADS_MS,
      JSON.stringify(last),
    );
  } finally {
    end();
  }
  assert.equal((await service.status).code, 0, service.stderr);
  assert.ok(await download < SIZE, "the download was cut");
  const line = await service.waitForLine((r) =>
    r.msg === "request" && r.path === path
  );
  assert.equal(line.cut, "shutdown");
});
