/**
 * The memory bound of an S3 upload holds over https as over http: a 256
 * MiB upload to a real Ceph radosgw serving HTTPS only (beast's
 * `ssl_endpoint`, a certificate of the test's own, trusted through
 * `DENO_CERT`) raises the service's peak resident set by no more than the
 * queue, the parts in flight and 32 MiB, the bound `s3_storage_test.ts`
 * holds over http. The parts went over fetch to an `https://` store
 * (node:https trusted neither `DENO_CERT` nor, under the start task, any
 * CA), and fetch keeps copies of each part's bytes: +101 MiB on main for
 * 256 MiB (bound 60), against ~50 over http. The service runs with the
 * `start` task's permissions, as users run it: `DENO_CERT` is read by the
 * runtime, not by the code (no read or env permission for it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { selfSigned } from "./fixtures/self_signed.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { startTaskFlagsFor } from "./fixtures/start_task_flags.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { uploadGrowth } from "./fixtures/upload_growth.ts";

const MiB = 1024 * 1024;

cephTest(
  "s3 over https: a 256 MiB upload raises the service's peak RSS by no more than queue + parts in flight + 32 MiB, as over http",
  async () => {
    const queue = 8 * MiB;
    const parts = 4;
    const partBytes = 5 * MiB; // s3Args's
    await using tls = await selfSigned();
    await using ceph = await sharedCeph({ tls });
    assert.match(ceph.endpoint, /^https:/);
    await withTempDir(async (dir) => {
      const data = `${dir}/data`;
      await using service = await spawnService(
        s3Args(ceph, [
          "--data-dir",
          data,
          "--upload-queue-bytes",
          String(queue),
          "--s3-parts-in-flight",
          String(parts),
        ]),
        {
          env: { DENO_CERT: tls.cert },
          denoArgs: startTaskFlagsFor(data),
        },
      );
      const grown = await uploadGrowth(service.url, service.child.pid, dir, {
        label: "radosgw over https",
      });
      // On main: +101 MiB (fetch's copies of the parts; bound 60).
      const bound = (queue + parts * partBytes + 32 * MiB) / MiB;
      assert.ok(grown <= bound, `peak RSS grew by ${grown.toFixed(1)} MiB`);
    });
    // Every part went over TLS with the certificate trusted: none refused.
    const refused = (await ceph.gatewayLog()).match(/ssl handshake failed.*/g);
    assert.deepEqual(refused ?? [], []);
  },
);
