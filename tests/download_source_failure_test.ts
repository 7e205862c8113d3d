/**
 * The object store going down in the middle of a download (radosgw
 * stopped, found by a fault sweep with curl): the client's body is cut
 * short, as it must be once the head went out, and the service says so in
 * one error line naming the request (its `requestId`, path and the store's
 * error). That line was the runtime's `request.unhandled`, with no request
 * id, path or file: nothing tied it to the download it broke.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { type SpawnedService, spawnService } from "./fixtures/spawn.ts";

const MiB = 1024 * 1024;

/** Reads `reader` to its end or its error; the bytes read and whether cut. */
async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ bytes: number; cut: boolean }> {
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, cut: false };
      bytes += value.byteLength;
    }
  } catch {
    return { bytes, cut: true };
  }
}

/** The error line naming `requestId`, once the service wrote it. */
async function errorLine(
  service: SpawnedService,
  requestId: string,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = service.stderr.split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((record) => record.requestId === requestId);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`no error line with ${requestId}:\n${service.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

cephTest(
  "the store stopped mid-download: the body is cut and one error line names the request",
  async () => {
    await using ceph = await sharedCeph();
    await using service = await spawnService(s3Args(ceph));
    const size = 64 * MiB;
    const stored = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf(size),
    });
    assert.equal(stored.status, 201);
    const { id } = await stored.json() as { id: string };

    const res = await fetch(`${service.url}/files/${id}`);
    assert.equal(res.status, 200);
    const requestId = res.headers.get("x-request-id");
    assert.ok(requestId);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    await ceph.stopGateway();
    try {
      await checkCut(reader, first.value.byteLength, requestId);
    } finally {
      // Whatever failed, the shared cluster's gateway runs again.
      await ceph.startGateway();
    }

    async function checkCut(
      reader: ReadableStreamDefaultReader<Uint8Array>,
      firstBytes: number,
      requestId: string,
    ): Promise<void> {
      const { bytes, cut } = await drain(reader);
      assert.ok(cut, "the body ends in an error, not as if whole");
      assert.ok(
        bytes + firstBytes < size,
        `${bytes} bytes of ${size}`,
      );

      // Error lines go to stderr.
      const line = await errorLine(service, requestId);
      assert.equal(line.msg, "response.body_failed");
      assert.equal(line.path, `/files/${id}`);
      assert.match(JSON.stringify(line.error), /error reading a body/);
      // Nothing else logged it without the request: the runtime's report of
      // the same failure is not written again.
      assert.doesNotMatch(service.stderr, /request\.unhandled/);
    }
  },
);
