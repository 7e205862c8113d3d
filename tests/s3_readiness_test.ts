/**
 * `/readyz` on a real Ceph radosgw, as a load balancer polls it: with
 * radosgw stopped, the service's bucket deleted or its user suspended it
 * answers 503 problem+json naming the dependency (`storage`) and why
 * (`unreachable`, `bucket-missing`, `credentials-refused`; `unresponsive`
 * for one that takes connections and never answers), one
 * `files.storage_down` line says so, and once the store serves again it is
 * 200 and `files.storage_ready` says that. Before, `/readyz` stayed 200
 * through all three, so a load balancer kept sending uploads to an instance
 * that could only answer 503. Many hits at once ask the store once, not
 * once each.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { ownUser } from "./fixtures/ceph_user.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { behindProxy } from "./fixtures/s3_proxied.ts";
import { type SpawnedService, spawnService } from "./fixtures/spawn.ts";
import {
  expectReadyAgain,
  expectUnready,
  readyz,
} from "./fixtures/storage_outage.ts";
import { until } from "./fixtures/until.ts";
import { S3Storage } from "../services/storage/s3.ts";
import type { StoreVerdict } from "../services/storage/s3_health.ts";
import { StorageMissingError } from "../services/storage/storage.ts";

/** A stored file's id on `service`. */
async function stored(service: SpawnedService): Promise<string> {
  const res = await fetch(`${service.url}/files`, {
    method: "POST",
    body: bytesOf(10_000),
  });
  assert.equal(res.status, 201);
  return (await res.json() as { id: string }).id;
}

cephTest(
  "s3: radosgw stopped: /readyz 503 'unreachable' with one files.storage_down line, 200 once it is back",
  async () => {
    await using ceph = await sharedCeph();
    await using service = await spawnService(s3Args(ceph));
    assert.equal((await readyz(service.url)).status, 200);
    const id = await stored(service);
    await ceph.stopGateway();
    try {
      await expectUnready(service, "unreachable", /S3_ENDPOINT/);
      // Downloads say the same meanwhile.
      const res = await fetch(`${service.url}/files/${id}`);
      assert.equal(res.status, 503);
      await res.body?.cancel();
    } finally {
      await ceph.startGateway();
    }
    await expectReadyAgain(service);
    const downs = service.lines.filter((l) => l.includes("storage_down"));
    assert.equal(downs.length, 1, downs.join("\n"));
  },
);

cephTest(
  "s3: radosgw hanging (takes connections, answers nothing): /readyz 503 'unresponsive' long before S3_TIMEOUT_MS, said once, 200 once it answers again",
  async () => {
    await using ceph = await sharedCeph();
    // S3_TIMEOUT_MS far past the wait: the 503 is no request timing out.
    await using proxied = await behindProxy(ceph, { timeoutMs: 600_000 });
    const { proxy, served } = proxied;
    assert.equal((await readyz(served.url)).status, 200);
    proxy.stall();
    try {
      let last = { status: 0, body: "" };
      await until(async () => {
        last = await readyz(served.url);
        return last.status === 503;
      }, "/readyz 503 for a store that hangs");
      const problem = JSON.parse(last.body) as Record<string, unknown>;
      assert.equal(problem.dependency, "storage", last.body);
      // It was "unreachable" (after a probe's 5 s cap): the store is there.
      assert.equal(problem.reason, "unresponsive", last.body);
      assert.match(String(problem.detail), /S3_ENDPOINT/);
    } finally {
      proxy.resume();
    }
    // The probe under way gets its answer: ready, with nothing else asked.
    await until(
      async () => (await readyz(served.url)).status === 200,
      "/readyz 200 once the store answers",
    );
    const turns = served.records.filter((r) =>
      r.msg === "files.storage_down" || r.msg === "files.storage_ready"
    ).map((r) => `${r.msg} ${r.reason ?? ""}`.trim());
    assert.deepEqual(turns, [
      "files.storage_down unresponsive",
      "files.storage_ready",
    ]);
  },
);

cephTest(
  "s3: the bucket deleted, then the user suspended: /readyz 503 'bucket-missing', then 'credentials-refused', 200 once each is undone",
  async () => {
    await using ceph = await sharedCeph();
    const { uid, lent, client } = await ownUser(ceph, "readyz");
    try {
      await using service = await spawnService(s3Args(lent));
      const id = await stored(service);
      await ceph.admin(
        ...["bucket", "rm", `--bucket=${lent.bucket}`, "--purge-objects"],
      );
      await expectUnready(service, "bucket-missing", /S3_BUCKET/);
      // A download, and its HEAD (whose HeadObject 404 has no body to name
      // the bucket), say the storage is unavailable, not "No such file".
      for (const method of ["GET", "HEAD"]) {
        const res = await fetch(`${service.url}/files/${id}`, { method });
        assert.equal(res.status, 503, method);
        await res.body?.cancel();
      }
      const made = await client.fetch(`${lent.endpoint}/${lent.bucket}`, {
        method: "PUT",
      });
      assert.equal(made.status, 200, await made.text());
      await expectReadyAgain(service);

      await ceph.admin("user", "suspend", `--uid=${uid}`);
      await until(async () => {
        const { body } = await readyz(service.url);
        return body.includes("credentials-refused");
      }, "/readyz 503 for credentials-refused");
      await service.waitForLine((r) =>
        r.msg === "files.storage_down" && r.reason === "credentials-refused"
      );
      await ceph.admin("user", "enable", `--uid=${uid}`);
      await until(
        async () => (await readyz(service.url)).status === 200,
        "/readyz 200 once the user is enabled",
      );
    } finally {
      await ceph.admin("user", "rm", `--uid=${uid}`, "--purge-data");
    }
  },
);

cephTest(
  "s3: 40 /readyz hits at once ask the store once, not once each",
  async () => {
    await using ceph = await sharedCeph();
    await using proxied = await behindProxy(ceph, { timeoutMs: 10_000 });
    const { proxy, served } = proxied;
    const probes = () =>
      proxy.requests.filter((r) => r.includes("max-keys=0")).length;
    // The start's sweep answered: no probe needed yet; past the verdict's
    // hold, the next hits need one.
    await until(async () => {
      await (await fetch(`${served.url}/readyz`)).body?.cancel();
      return probes() > 0;
    }, "a first probe");
    const before = probes();
    await until(async () => {
      const at = probes();
      const statuses = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const res = await fetch(`${served.url}/readyz`);
          await res.body?.cancel();
          return res.status;
        }),
      );
      assert.deepEqual(statuses, Array(40).fill(200));
      // One probe at a time, its verdict held: at most one in a round, or
      // two when the round spans the hold's end.
      assert.ok(probes() - at <= 2, proxy.requests.join("\n"));
      return probes() > before;
    }, "a probe once the verdict is old");
  },
);

cephTest(
  "s3: S3_FORCE_PATH_STYLE=false to a store that serves buckets only by path: the probe's listing of all buckets is no answer of the bucket's, readiness 'not-the-bucket', and a listing of the files fails, never ready",
  async () => {
    await using ceph = await sharedCeph();
    // The start stops on this (s3_misconfigured_start_test.ts); the probe
    // is the store's own (radosgw without rgw_dns_name, as a store changed
    // under a running instance would be), so here without the app.
    const changes: StoreVerdict[] = [];
    using storage = new S3Storage({
      endpoint: new URL(ceph.endpoint),
      bucket: ceph.bucket,
      accessKeyId: ceph.accessKeyId,
      secretAccessKey: ceph.secretAccessKey,
      forcePathStyle: false,
      onReadinessChange: (verdict) => changes.push(verdict),
    });
    // radosgw answers `bucket.host/?list-type=2` with a listing of all
    // buckets: the probe took that 200 for ready.
    const verdict = await storage.readiness(60_000);
    assert.equal(verdict.ready ? "ready" : verdict.reason, "not-the-bucket");
    // The same listing for GET /files was an empty page, and made the
    // store ready again.
    await assert.rejects(storage.list(), /no listing of the bucket/);
    // A download's metadata read: radosgw takes `meta` of
    // `bucket.host/meta/<id>.json` for the bucket, NoSuchBucket naming it.
    // It made `/readyz` say `bucket-missing` until the next probe said
    // `not-the-bucket` again: two reasons in turn for one state.
    await assert.rejects(storage.stat("0".repeat(32)), StorageMissingError);
    const after = await storage.readiness(60_000);
    assert.equal(after.ready ? "ready" : after.reason, "not-the-bucket");
    const said = changes.map((v) => v.ready ? "ready" : v.reason);
    assert.deepEqual(said, ["not-the-bucket"]);
  },
);
