/**
 * This host's clock stepped 20 min ahead of the object store's while the
 * service runs (a real Ceph radosgw; libfaketime moves the service's wall
 * clock only, as a bad NTP step or a VM resumed with a stale clock does):
 * S3 refuses every request signed more than 15 min off its own time with
 * `RequestTimeTooSkewed`. Found with `deno task start` under libfaketime:
 * every request to `/files` answered a generic 500 and wrote a
 * `request.failed` line with its stack. Now each is a 503 "Storage
 * unavailable" with Retry-After saying the store refuses the service's
 * requests for now, one `files.storage_unavailable` error line names the
 * refusal, and once the clock is right again the files serve without a
 * restart. At start the same refusal stops the start
 * (s3_misconfigured_start_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { steppedClock } from "./fixtures/libfaketime.ts";
import {
  expectOutage,
  expectReadyAgain,
  expectUnready,
} from "./fixtures/storage_outage.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";

cephTest(
  "s3: this host's clock stepped 20 min ahead mid-run (RequestTimeTooSkewed): a 503 with Retry-After each for list, download and upload, one error line, /readyz 503 'clock-skewed', 201 and ready again once the clock is back",
  async () => {
    await using ceph = await sharedCeph();
    await using clock = await steppedClock();
    // All at once from one address: more uploads than its cap of 8.
    const uncapped = ["--max-uploads-per-client", "0"];
    await using service = await spawnService(s3Args(ceph, uncapped), {
      env: clock.env,
    });
    const stored = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf(10_000),
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(stored.status, 201);
    const { id } = await stored.json() as { id: string };
    const before = service.stderr.length;

    await clock.step("+20m");
    await expectOutage(service, {
      id,
      asks: ["list", "download", "upload"],
      count: 30,
      prefix: "skewed",
      detail: /refuses this service's requests for now/,
      hidden: [ceph.endpoint, ceph.bucket, ceph.accessKeyId],
      before,
      reason: "StorageClockError",
      error: /RequestTimeTooSkewed/,
    });
    // Not "credentials-refused": the credentials are right, the clock not.
    await expectUnready(service, "clock-skewed", /this host's clock/);

    await clock.step("+0");
    await expectReadyAgain(service);
    const back = await fetch(`${service.url}/files/${id}`);
    assert.equal(back.status, 200);
    assert.equal((await back.bytes()).byteLength, 10_000);
    const again = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf(20_000, 2),
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(again.status, 201);
    await again.body?.cancel();
  },
);
