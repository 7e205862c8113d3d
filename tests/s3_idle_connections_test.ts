/**
 * Connections to the S3 store left idle after a burst of uploads. Each of
 * many uploads at once opens its own connection for the calls that go over
 * fetch (the multipart upload's creation and completion, the listing), and
 * the runtime's default pool kept every one of them open for 90 s: 116
 * descriptors after 64 small uploads at once, half of a `ulimit -n 256`,
 * where the accept loop's reclaiming of idle client connections cannot see
 * them. The store's own client keeps a few idle connections per host, for a
 * short while.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const UPLOADS = 32;

/** Established TCP connections of process `pid` to `port` on loopback. */
async function connectionsTo(pid: number, port: number): Promise<number> {
  const out = await new Deno.Command("ss", {
    args: ["-Htnp", "state", "established", "dst", `127.0.0.1:${port}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((line) => line.includes(`pid=${pid},`)).length;
}

cephTest(
  "s3: after 32 uploads at once, the service keeps a few idle connections to the store, not one per upload",
  () =>
    withTempDir(async (dir) => {
      await using ceph = await sharedCeph();
      await using service = await spawnService([
        ...s3Args(ceph, ["--max-uploads-per-client", "0"]),
        "--data-dir",
        dir,
      ]);
      const body = bytesOf(64 * 1024, 7);
      const statuses = await Promise.all(
        Array.from({ length: UPLOADS }, async () => {
          const res = await fetch(`${service.url}/files`, {
            method: "POST",
            body,
          });
          await res.body?.cancel();
          return res.status;
        }),
      );
      assert.deepEqual(new Set(statuses), new Set([201]));
      const port = Number(new URL(ceph.endpoint).port);
      const open = await connectionsTo(service.child.pid, port);
      assert.ok(open <= 8, `${open} connections to the store stay open`);
    }),
);
