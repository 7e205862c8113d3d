/**
 * An unconditional `DELETE` of a local-disk file racing the commit of an
 * upload of the same id (another instance sharing `DATA_DIR`, as
 * `deno serve --parallel` workers do) removes only the sidecar of the
 * content it deleted: it used to remove `<id>.json` by name, the new
 * upload's included, and the new file stayed on the disk without metadata
 * (`GET` 404 after its 201, never listed). The commit lands as its last two
 * renames (`fixtures/landing_commit.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sidecarsLostRacing } from "./fixtures/landing_commit.ts";

const ROUNDS = 60;

Deno.test("a delete racing a commit of the same id never leaves the new file without its sidecar", async () => {
  const bare = await sidecarsLostRacing({
    rounds: ROUNDS,
    spread: 6,
    remove: (deleter, id) => deleter.delete(id),
  });
  assert.deepEqual(
    bare,
    [],
    `${bare.length} of ${ROUNDS} files lost their sidecar`,
  );
});
