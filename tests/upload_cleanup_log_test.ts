/**
 * The object store going down in the middle of an upload (radosgw
 * stopped, found by a fault sweep with curl): the upload fails, and so
 * does the abort of its multipart upload, which the leftover sweep takes
 * later. The warning saying so (`upload.cleanup_failed`) gave the upload's
 * id and not the request's, and the request's error line
 * (`files.storage_unavailable`) the request's id and not the upload's:
 * nothing tied the leftover to the request that left it. The warning now
 * carries the request id too.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";

const MiB = 1024 * 1024;

cephTest(
  "the store stopped mid-upload: the failed cleanup's warning names the request",
  async () => {
    await using ceph = await sharedCeph();
    await using service = await spawnService(s3Args(ceph));
    const requestId = `cleanup-${crypto.randomUUID()}`;
    const piece = bytesOf(MiB);
    let sent = 0;
    // The gateway's stop, awaited again before it is started: the service
    // can answer while the stop still waits for radosgw to exit, and a start
    // then found it running and waited on a gateway about to exit.
    let stopped: Promise<void> | undefined;
    // 16 MiB (three 5 MiB parts) arrive, then the store stops, then more.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 16) await (stopped = ceph.stopGateway());
        if (sent === 64) return controller.close();
        sent++;
        controller.enqueue(piece.slice());
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    try {
      await sendAndCheck();
    } finally {
      await stopped;
      await ceph.startGateway();
    }

    async function sendAndCheck(): Promise<void> {
      const answer = await fetch(`${service.url}/files`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/octet-stream",
          "x-request-id": requestId,
        },
      }).then(async (res) => {
        await res.body?.cancel();
        return res.status;
      }, (error: Error) => error.message);
      assert.ok(answer !== 201, `not stored: ${answer}`);

      const warning = await service.waitForLine((record) =>
        record.msg === "upload.cleanup_failed"
      );
      assert.equal(warning.requestId, requestId);
      assert.equal(typeof warning.id, "string");
    }
  },
);
