/**
 * The start's sweep against an upload that has made its `<id>.part` but
 * not locked it yet (two steps: no call creates and locks at once). A
 * process starting on a shared `DATA_DIR` in that window found the file
 * unlocked, took it for a crash's leftover and removed it; the upload then
 * wrote on into a file no name led to and failed at its commit (the
 * rename). Found under load by a suite run of `files_shared_folder_test`.
 * Now the sweep removes a `.part` only while holding its lock, and an
 * upload that gets its lock checks that its file still has its name,
 * making it again if not.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { storeFile } from "./fixtures/stored_file.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

const ROUNDS = 300;

Deno.test("uploads begun while another process's storage sweeps the folder are all stored", () =>
  withTempDir(async (dir) => {
    const uploader = new LocalDiskStorage({ dir });
    // Its own instance, as another process's: flock(2) locks conflict
    // between open files, in one process too.
    const sweeper = new LocalDiskStorage({ dir });
    await uploader.ensureDir();
    let failed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const id = i.toString(16).padStart(32, "0");
      const [stored] = await Promise.allSettled([
        storeFile(uploader, id, `content ${i}`),
        // The sweep looks as soon as the upload's file can exist.
        Promise.resolve().then(() => sweeper.sweep()),
      ]);
      if (stored.status === "rejected") failed++;
    }
    assert.equal(failed, 0, `${failed} of ${ROUNDS} uploads failed`);
    const left = await listDir(dir);
    assert.equal(left.filter((name) => name.endsWith(".part")).length, 0);
    assert.equal(
      left.filter((name) => /^[0-9a-f]{32}$/.test(name)).length,
      ROUNDS,
    );
  }));
