/**
 * An upload aborted in one process while another process sharing
 * `DATA_DIR` begins an upload of the same id (a client retrying its
 * `Upload-Id` through another instance as the first one gives up). The
 * abort closed `<id>.part` (releasing its lock) and then removed the file
 * by name, waiting between the two for the early flush's `fdatasync` in
 * flight (milliseconds for 17 MiB): in between, the other process found the `.part` unlocked, took
 * it for a crash's leftover, made its own and locked it, and the abort then
 * removed that one. The new upload wrote on into a file no name led to,
 * and its commit failed (`NotFound` on the rename: 503 for a good upload).
 * The abort now removes what it wrote while it holds the lock, then closes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { newId } from "../services/storage/metadata.ts";
import {
  FileIdTakenError,
  type StorageUpload,
} from "../services/storage/storage.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROUNDS = 20;
// The retry's begin waits this many filesystem calls more each round
// (modulo), so it falls on either side of the abort's steps.
const SPREAD = 4;
// Past the early flush's 16 MiB: a background fdatasync is in flight when
// the abort comes, and the abort waited for it between its close and its
// removal (the window the other process's begin fell into).
const WRITTEN = 17 * 1024 * 1024;

/** Begins an upload of `id`, again while another live upload holds it. */
async function beginWhenFree(
  store: LocalDiskStorage,
  id: string,
): Promise<StorageUpload> {
  for (;;) {
    try {
      return await store.begin(id);
    } catch (error) {
      if (!(error instanceof FileIdTakenError)) throw error;
    }
  }
}

Deno.test("an abort does not remove the `.part` of an upload of its id that another process began as it ended", () =>
  withTempDir(async (dir) => {
    const here = new LocalDiskStorage({ dir });
    const there = new LocalDiskStorage({ dir });
    const body = new TextEncoder().encode("the retry's bytes");
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = newId();
      const first = await here.begin(id);
      await first.write(new Uint8Array(WRITTEN).fill(round));
      // The early flush's handle opened: its fdatasync is running.
      for (let call = 0; call < 4; call++) await Deno.lstat(dir);
      // The abort first: it closes at once, then removes.
      const aborted = first.abort();
      const retry = (async () => {
        for (let call = 0; call < round % SPREAD; call++) await Deno.lstat(dir);
        return await beginWhenFree(there, id);
      })();
      const [, upload] = await Promise.all([aborted, retry]);
      await upload.write(body);
      const stored = await upload.commit({
        size: body.length,
        sha256: sha256Hex(body),
      }).catch(async (error: unknown) => {
        await upload.abort();
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        lost.push(id);
      });
      if (stored) assert.deepEqual(await Deno.readFile(join(dir, id)), body);
    }
    assert.deepEqual(lost, [], `retries lost: ${lost.length} of ${ROUNDS}`);
  }));
