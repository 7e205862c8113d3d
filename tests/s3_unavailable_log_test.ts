/**
 * The object store down while clients keep reading (radosgw stopped, found
 * by a fault sweep with wrk): every request to the files is answered 503,
 * and each wrote a `files.storage_unavailable` error line with its stack,
 * 5,260 lines (6 MB) in 8 s of `wrk -c8` on `GET /files` and
 * `GET /files/:id`, where a Redis or an upstream down is said once. Now
 * one line says the store is unreachable and the next (at most one every
 * 10 s) how many more were answered so; each request keeps its access line
 * with its 503, and the store back, the files serve again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";

const FAILED = 40;

cephTest(
  "the store down under reads: one files.storage_unavailable line, a 503 each, served again once back",
  async () => {
    await using ceph = await sharedCeph();
    await using service = await spawnService(s3Args(ceph));
    const stored = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf(10_000),
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(stored.status, 201);
    const { id } = await stored.json() as { id: string };

    await ceph.stopGateway();
    try {
      const statuses = await Promise.all(
        Array.from({ length: FAILED }, async (_, i) => {
          const path = i % 2 === 0 ? "/files" : `/files/${id}`;
          const res = await fetch(`${service.url}${path}`, {
            headers: { "x-request-id": `down-${i}` },
          });
          await res.body?.cancel();
          return res.status;
        }),
      );
      assert.deepEqual(statuses, Array(FAILED).fill(503));
      // Each access line comes, with its 503 (written after the answer).
      for (let i = 0; i < FAILED; i++) {
        const line = await service.waitForLine((r) =>
          r.msg === "request" && r.requestId === `down-${i}`
        );
        assert.equal(line.status, 503);
      }
      // Error lines go to stderr, each written before its answer was sent.
      const errors = service.stderr.split("\n").flatMap((line) => {
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          return record.msg === "files.storage_unavailable" ? [record] : [];
        } catch {
          return [];
        }
      });
      assert.equal(errors.length, 1, JSON.stringify(errors).slice(0, 2000));
      assert.match(String(errors[0]!.requestId), /^down-/);
      assert.match(JSON.stringify(errors[0]!.error), /did not answer/);
    } finally {
      await ceph.startGateway();
    }
    const back = await fetch(`${service.url}/files/${id}`);
    assert.equal(back.status, 200);
    assert.equal((await back.bytes()).byteLength, 10_000);
  },
);
