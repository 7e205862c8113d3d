/**
 * SIGTERM while the object store hangs an upload, against a real Ceph
 * radosgw behind a loopback pass-through that goes silent (a blackhole):
 * the service (`main.ts`, a child process) stops the upload once its
 * grace period ran out, and its client must hear 503 (nothing kept) before
 * the exit. The upload's abort waited on the silent store (its requests
 * bounded by `S3_TIMEOUT_MS`, 30 s by default) while the shutdown exits
 * 2 s after stopping the uploads: the client, its body half sent, saw the
 * connection close with no answer, not knowing whether its file was kept.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { assertStoppedUpload, rawRequest } from "./fixtures/upload_client.ts";
import { STOP_UPLOADS_MS } from "../main.ts";

const KiB = 1024;
const GRACE_MS = 500;

cephTest(
  "s3: SIGTERM while the store hangs an upload: 503 problem+json with Connection: close before the exit, exit 0",
  async () => {
    await using ceph = await sharedCeph();
    await using proxy = startTcpProxy({
      port: Number(new URL(ceph.endpoint).port),
    });
    await using service = await spawnService([
      "--upstream-url",
      "http://127.0.0.1:9",
      "--shutdown-grace-ms",
      String(GRACE_MS),
      // The trace shows when the upload's first bytes reached its sink.
      "--log-level",
      "debug",
      ...s3Args(ceph, ["--s3-timeout-ms", "30000"], proxy.url),
    ]);
    const { hostname, port } = new URL(service.url);
    // 64 KiB every 20 ms, 10 MiB in all: still arriving at the stop.
    const chunks = 160;
    let sending = true;
    const slowBody = async function* () {
      for (let i = 0; i < chunks && sending; i++) {
        if (i > 0) await delay(20);
        yield new Uint8Array(64 * KiB).fill(i);
      }
    };
    const upload = rawRequest({ hostname, port: Number(port) }, {
      headers: {
        "content-length": String(chunks * 64 * KiB),
        "content-type": "application/octet-stream",
      },
      body: slowBody(),
      timeoutMs: 20_000,
    });
    let result;
    let took;
    try {
      await service.waitForLine((r) =>
        r.msg === "upload.trace" && r.task === "writer" && r.op === "write"
      );
      // The multipart upload is open; from now on the store hears nothing.
      proxy.stall();
      const signalled = performance.now();
      service.kill("SIGTERM");
      result = await upload;
      took = performance.now() - signalled;
    } finally {
      sending = false;
    }
    assertStoppedUpload(result);
    assert.ok(took < GRACE_MS + STOP_UPLOADS_MS + 1_000, `${took} ms`);
    const status = await service.status;
    assert.equal(status.code, 0, service.stderr);
    // What the stalled upload left (its multipart upload) is the sweep's.
    proxy.resume();
  },
);
