/**
 * The sweep of the metadata objects failed deletes left behind runs while
 * the service runs (every `S3_LEFTOVER_SWEEP_MS`), not only at start: a
 * `DELETE /files/<id>` that removed the content and then failed (a 503,
 * the store stopping between the two) left `meta/<id>.json` in the bucket
 * until some instance restarted. On a real Ceph radosgw behind a
 * pass-through that holds the metadata object's DELETE; and the sweeps
 * stop at once when closed, a sweep under way included.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PeriodicSweep } from "../services/storage/periodic_sweep.ts";
import { sharedCeph } from "./fixtures/ceph.ts";
import { within } from "./fixtures/files_service.ts";
import { cephTest } from "./fixtures/s3_app.ts";
import {
  assertSweptEmpty,
  behindSweepingProxy,
  deleteHalfway,
  META_DELETE,
} from "./fixtures/s3_proxied.ts";

cephTest(
  "s3: the metadata object a delete left behind while the instance runs is swept within S3_LEFTOVER_SWEEP_MS, no restart",
  async () => {
    await using ceph = await sharedCeph();
    // The metadata object is taken once older than the idle timeout,
    // still there when the delete's 503 comes.
    await using app = await behindSweepingProxy(ceph);
    const id = "0".repeat(31) + "c";
    await deleteHalfway(
      ceph,
      app.served.url,
      id,
      () => app.proxy.holdRequest(META_DELETE),
    );
    // Older than the idle timeout (radosgw dates objects to the second),
    // then the next sweep: within seconds. Before, it stayed.
    await assertSweptEmpty(ceph, `meta/${id}.json swept`);
  },
);

Deno.test("PeriodicSweep.close() aborts a sweep under way and waits for it, which is not told as a failure", async () => {
  const started = Promise.withResolvers<void>();
  const failures: unknown[] = [];
  let sweeps = 0;
  let ended = false;
  const periodic = new PeriodicSweep({
    everyMs: 10,
    sweep: (signal) => {
      sweeps++;
      started.resolve();
      // A listing that would take long: it ends only when stopped.
      return new Promise<number>((_, reject) =>
        // Stopping takes it a turn (a request being cancelled), so that
        // close() must wait for it.
        signal.addEventListener("abort", () =>
          setTimeout(() => {
            ended = true;
            reject(signal.reason);
          }, 0), { once: true })
      );
    },
    onError: (error) => failures.push(error),
  });
  // The sweeps' timer keeps no process alive: this one waits on its own.
  while (sweeps === 0) await new Promise((r) => setTimeout(r, 10));
  await started.promise;
  // The sweep ends only when aborted: close() settling at all shows it
  // aborted it (the bound is a hang detector), and it waited for the end.
  await within(periodic.close(), "close() ending the sweep under way");
  assert.equal(ended, true, "close() settled before the sweep ended");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(sweeps, 1, "no sweep after close()");
  assert.deepEqual(failures, []);
  assert.throws(
    () => new PeriodicSweep({ everyMs: 0, sweep: () => Promise.resolve(0) }),
    RangeError,
  );
});
