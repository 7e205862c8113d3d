/**
 * The one judgement of whether a stored file's sidecar is its content's
 * own (services/storage/disk_sidecar.ts), made by the download's version
 * check and the conditional delete alike, on real files: the sidecar read
 * between two looks at the content showing the same identity, and naming
 * its size.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { identityOf, readSidecarOf } from "../services/storage/disk_sidecar.ts";
import { type FileMetadata, newId } from "../services/storage/metadata.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

function metaOf(id: string, size: number): FileMetadata {
  return {
    id,
    size,
    sha256: "0".repeat(64),
    created: new Date().toISOString(),
  };
}

/** Writes `<id>` with `size` bytes by a rename, as a commit does. */
async function commit(dir: string, id: string, size: number): Promise<void> {
  await Deno.writeFile(join(dir, `${id}.part`), new Uint8Array(size));
  await Deno.rename(join(dir, `${id}.part`), join(dir, id));
}

Deno.test("readSidecarOf: the sidecar of the content looked at twice is its own", () =>
  withTempDir(async (dir) => {
    const id = newId();
    await commit(dir, id, 5);
    const path = join(dir, id);
    const before = await Deno.stat(path);
    const reading = await readSidecarOf({
      before,
      readSidecar: () => Promise.resolve(metaOf(id, 5)),
      lookAgain: () => Deno.stat(path),
    });
    assert.equal(reading?.own, true);
    assert.equal(reading?.identity, identityOf(before));
    assert.ok(reading?.identity);
  }));

Deno.test("readSidecarOf: not its own when it names another size, or the content changed between the looks; none without a sidecar", () =>
  withTempDir(async (dir) => {
    const id = newId();
    await commit(dir, id, 5);
    const path = join(dir, id);
    const before = await Deno.stat(path);
    const looks = { before, lookAgain: () => Deno.stat(path) };
    const sized = await readSidecarOf({
      ...looks,
      readSidecar: () => Promise.resolve(metaOf(id, 6)),
    });
    assert.equal(sized?.own, false);
    // Replaced (same size) while the sidecar was read: another inode.
    const replaced = await readSidecarOf({
      ...looks,
      readSidecar: async () => {
        await commit(dir, id, 5);
        return metaOf(id, 5);
      },
    });
    assert.equal(replaced?.own, false);
    const gone = await readSidecarOf({
      before: await Deno.stat(path),
      readSidecar: async () => {
        await Deno.remove(path);
        return metaOf(id, 5);
      },
      lookAgain: () => Promise.resolve(undefined),
    });
    assert.equal(gone?.own, false);
    assert.equal(
      await readSidecarOf({
        ...looks,
        readSidecar: () => Promise.resolve(undefined),
      }),
      undefined,
    );
  }));
