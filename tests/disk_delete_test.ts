/**
 * The conditional delete on the local disk (`disk_delete.ts`), on a real
 * folder, its sidecar read held for a while as on a slow or busy disk.
 * Before, the content was renamed aside first and its sidecar read while it
 * was: for that time the file was missing for everyone (a `GET` 404, an
 * upload of its id admitted), even when the precondition was false and the
 * file stayed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { deleteOnDiskIf } from "../services/storage/disk_delete.ts";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import {
  type FileMetadata,
  newId,
  parseMetadata,
} from "../services/storage/metadata.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

/** Stores `bytes` through the store's own upload, commit and sidecar. */
async function stored(dir: string, bytes: Uint8Array): Promise<FileMetadata> {
  const store = await createLocalDiskStorage({ dir });
  const upload = await store.begin(newId());
  await upload.write(bytes);
  return await upload.commit({
    size: bytes.byteLength,
    sha256: "0".repeat(64),
  });
}

/**
 * A sidecar read as the store's (`undefined` when there is none) that waits
 * for `release` first, and says when it has started.
 */
function heldRead(dir: string) {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const readMetadata = async (id: string) => {
    started.resolve();
    await release.promise;
    try {
      return parseMetadata(
        id,
        await Deno.readTextFile(join(dir, `${id}.json`)),
      );
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  };
  return { readMetadata, started: started.promise, release: release.resolve };
}

async function present(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a conditional delete whose precondition is false never makes the file look missing", async () => {
  await withTempDir(async (dir) => {
    const meta = await stored(dir, new Uint8Array(100).fill(7));
    const held = heldRead(dir);
    const deleting = deleteOnDiskIf(
      { dir, id: meta.id, readMetadata: held.readMetadata },
      () => false,
    );
    await held.started;
    // Before: renamed aside while the sidecar was read, so missing here.
    const seen = await present(join(dir, meta.id));
    held.release();
    assert.deepEqual(await deleting, { refused: meta });
    assert.equal(seen, true, "the file was missing during the verdict");
    assert.deepEqual(await listDir(dir), [meta.id, `${meta.id}.json`].sort());
    assert.deepEqual(
      await Deno.readFile(join(dir, meta.id)),
      new Uint8Array(100).fill(7),
    );
  });
});

Deno.test("a conditional delete whose precondition holds deletes the content and its sidecar, and leaves nothing aside", async () => {
  await withTempDir(async (dir) => {
    const meta = await stored(dir, new Uint8Array(100));
    const held = heldRead(dir);
    const verdicts: FileMetadata[] = [];
    const deleting = deleteOnDiskIf(
      { dir, id: meta.id, readMetadata: held.readMetadata },
      (seen) => verdicts.push(seen) > 0,
    );
    await held.started;
    held.release();
    assert.equal(await deleting, "deleted");
    assert.deepEqual(verdicts, [meta]);
    assert.deepEqual(await listDir(dir), []);
    assert.equal(
      await deleteOnDiskIf(
        { dir, id: meta.id, readMetadata: held.readMetadata },
        () => true,
      ),
      "missing",
    );
  });
});

Deno.test("a conditional delete of a file whose sidecar does not match its content (another version's) refuses", async () => {
  await withTempDir(async (dir) => {
    const meta = await stored(dir, new Uint8Array(100));
    // Content of another size under the id: the sidecar is not its own.
    await Deno.writeFile(join(dir, meta.id), new Uint8Array(50));
    const held = heldRead(dir);
    held.release();
    assert.deepEqual(
      await deleteOnDiskIf(
        { dir, id: meta.id, readMetadata: held.readMetadata },
        () => true,
      ),
      { refused: meta },
    );
    assert.deepEqual(await listDir(dir), [meta.id, `${meta.id}.json`].sort());
  });
});
