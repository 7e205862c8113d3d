/**
 * Two uploads of one client-chosen id (`Upload-Id`) at two processes on
 * one `DATA_DIR` (instances sharing the folder, `deno serve --parallel`
 * workers): the route's 409 check (a `stat`) and the upload's `<id>.part`
 * are two steps, and the other process's upload could commit between
 * them. This upload then made its `<id>.part` (the other's was renamed
 * away) and its commit renamed its bytes over the stored file: both
 * answered 201, and the first's bytes were gone (19 of 200 pairs of
 * same-id uploads, Python requests at two instances). The commit now
 * finds the id stored and ends with `FileIdTakenError` ("stored", 409),
 * leaving the stored file and its sidecar as they were.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { newId } from "../services/storage/metadata.ts";
import { FileIdTakenError } from "../services/storage/storage.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

Deno.test("an upload whose id another process stored after its 409 check is refused at its commit, and the stored file stays", () =>
  withTempDir(async (dir) => {
    // Two stores on one folder: two processes sharing DATA_DIR.
    const here = new LocalDiskStorage({ dir });
    const there = new LocalDiskStorage({ dir });
    const id = newId();
    const first = new TextEncoder().encode("the first upload's bytes");
    const second = new TextEncoder().encode("the second's, another length");
    // Both passed the route's check (nothing stored yet); the first
    // commits before the second makes its `<id>.part`.
    const upload = await there.begin(id);
    await upload.write(first);
    await upload.commit({ size: first.length, sha256: sha256Hex(first) });
    const late = await here.begin(id);
    await late.write(second);
    const refused = await late.commit({
      size: second.length,
      sha256: sha256Hex(second),
    }).then(() => undefined, (error: unknown) => error);
    await late.abort();
    assert.ok(
      refused instanceof FileIdTakenError,
      `the late commit is refused, not ${refused}`,
    );
    assert.equal(refused.holder, "stored");
    assert.deepEqual(await Deno.readFile(join(dir, id)), first);
    const meta = await here.stat(id);
    assert.equal(meta?.sha256, sha256Hex(first));
    assert.equal(meta?.size, first.length);
    assert.deepEqual(await listDir(dir), [id, `${id}.json`].sort());
  }));
