/**
 * A conditional `DELETE` (`If-Match`) of a local-disk file racing the
 * commit of an upload of the same id (another instance sharing `DATA_DIR`,
 * as `deno serve --parallel` workers do) removes only the sidecar of the
 * content it deleted, as the unconditional one does
 * (`disk_delete_commit_race_test.ts`): it removed `<id>.json` by name once
 * it found no content under the id, the new upload's sidecar included when
 * its commit renamed it in just then, and the new file stayed on the disk
 * without metadata (`GET` 404 after its 201, never listed). The commit
 * lands as its last two renames (`fixtures/landing_commit.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sidecarsLostRacing } from "./fixtures/landing_commit.ts";

const ROUNDS = 120;

Deno.test("a conditional delete racing a commit of the same id never leaves the new file without its sidecar", async () => {
  const bare = await sidecarsLostRacing({
    rounds: ROUNDS,
    spread: 12,
    remove: (deleter, id) => deleter.deleteIf(id, (meta) => meta.size === 10),
  });
  assert.deepEqual(
    bare,
    [],
    `${bare.length} of ${ROUNDS} files lost their sidecar`,
  );
});
