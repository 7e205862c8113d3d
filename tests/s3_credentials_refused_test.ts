/**
 * The object store refusing the service's credentials while it runs (a
 * real Ceph radosgw: the S3 key removed with `radosgw-admin key rm`, or
 * the user suspended). Found with real radosgw under load: every request
 * to `/files` answered a generic 500 and wrote a `request.failed` line
 * with its stack, 2,818 error lines (2 MB) in 4 s. Now each is a 503
 * "Storage unavailable" with Retry-After whose detail says the store
 * refuses the service's credentials (no key, secret or host), one
 * `files.storage_unavailable` error line names the store's refusal (the
 * next at most 10 s later, counting), and the key or user restored, the
 * files serve again. A store that refuses at start still stops the start
 * (s3_misconfigured_start_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { ownUser } from "./fixtures/ceph_user.ts";
import { expectOutage } from "./fixtures/storage_outage.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";

const REQUESTS = 30;

/** How the store is made to refuse, and how it is made to take them again. */
const CASES = [
  {
    name: "the key removed (radosgw-admin key rm)",
    refuse: (ceph: Ceph, uid: string, keyArgs: string[]) =>
      ceph.admin("key", "rm", `--uid=${uid}`, keyArgs[0]!),
    restore: (ceph: Ceph, uid: string, keyArgs: string[]) =>
      ceph.admin("key", "create", `--uid=${uid}`, "--key-type=s3", ...keyArgs),
  },
  {
    name: "the user suspended (radosgw-admin user suspend)",
    refuse: (ceph: Ceph, uid: string) =>
      ceph.admin("user", "suspend", `--uid=${uid}`),
    restore: (ceph: Ceph, uid: string) =>
      ceph.admin("user", "enable", `--uid=${uid}`),
  },
];

for (const { name, refuse, restore } of CASES) {
  cephTest(
    `s3: ${name} mid-run: a 503 with Retry-After each for list, download and upload, one error line naming the refusal, 200 once restored`,
    async () => {
      await using ceph = await sharedCeph();
      const { uid, lent, keyArgs } = await ownUser(ceph, "refused");
      try {
        // All at once from one address: more uploads than its cap of 8.
        const uncapped = ["--max-uploads-per-client", "0"];
        await using service = await spawnService(s3Args(lent, uncapped));
        const stored = await fetch(`${service.url}/files`, {
          method: "POST",
          body: bytesOf(10_000),
          headers: { "content-type": "application/octet-stream" },
        });
        assert.equal(stored.status, 201);
        const { id } = await stored.json() as { id: string };
        const before = service.stderr.length;

        await refuse(ceph, uid, keyArgs);
        await expectOutage(service, {
          id,
          asks: ["list", "download", "upload"],
          count: REQUESTS,
          prefix: "refused",
          detail: /refuses this service's credentials/,
          hidden: [
            ...keyArgs.map((arg) => arg.replace(/^--[a-z-]+=/, "")),
            lent.endpoint,
            uid,
          ],
          before,
          reason: "StorageRefusedError",
          error: /refused the service's credentials/,
        });

        await restore(ceph, uid, keyArgs);
        const back = await fetch(`${service.url}/files/${id}`);
        assert.equal(back.status, 200);
        assert.equal((await back.bytes()).byteLength, 10_000);
        const listed = await fetch(`${service.url}/files`);
        assert.equal(listed.status, 200);
        await listed.body?.cancel();
      } finally {
        await ceph.admin("user", "rm", `--uid=${uid}`, "--purge-data");
      }
    },
  );
}
