/**
 * The one mapping of OS errors to the files folder's state
 * (`services/storage/disk_errors.ts`): which errors make the folder
 * unusable for reads (503 on GET, HEAD, DELETE) and which say it takes no
 * writes (503 on an upload), with their messages, for the errors the OS
 * gives (real ones where a test can provoke them: ENOTDIR, ENOENT; the
 * others carry the OS's code as Deno gives it). Before, the two answers
 * were two functions in two files, each reading the code and making the
 * message its own way; the behaviour checked here is the same as theirs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  folderUnmade,
  folderUnusable,
  folderUnwritable,
} from "../services/storage/disk_errors.ts";
import {
  StorageUnavailableError,
  StorageUnwritableError,
} from "../services/storage/storage.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

function osError(code: string): Error {
  return Object.assign(new Error(`${code}: os error`), { code });
}

/** Real errors of a path under a regular file, and of a missing file. */
async function realErrors(
  dir: string,
): Promise<{ notDir: Error; gone: Error }> {
  const file = join(dir, "file");
  await Deno.writeTextFile(file, "x");
  const notDir = await Deno.stat(join(file, "x")).catch((e) => e);
  const gone = await Deno.stat(join(dir, "missing")).catch((e) => e);
  assert.ok(notDir instanceof Deno.errors.NotADirectory);
  assert.ok(gone instanceof Deno.errors.NotFound);
  return { notDir, gone };
}

Deno.test("disk errors: the folder unusable for reads on ENOTDIR, EACCES, EPERM, EIO, ELOOP only", () =>
  withTempDir(async (dir) => {
    const { notDir, gone } = await realErrors(dir);
    const unusable = [
      notDir,
      new Deno.errors.PermissionDenied("denied"),
      ...["ENOTDIR", "EACCES", "EPERM", "EIO", "ELOOP"].map(osError),
    ];
    for (const error of unusable) {
      const mapped = folderUnusable("/d/files", error);
      assert.ok(mapped instanceof StorageUnavailableError, String(error));
      assert.ok(!(mapped instanceof StorageUnwritableError));
      assert.equal(mapped.message, `/d/files cannot be used: ${error.message}`);
      assert.equal(mapped.cause, error);
    }
    for (const error of [gone, osError("ENOSPC"), osError("EROFS"), "x"]) {
      assert.equal(folderUnusable("/d/files", error), error);
    }
  }));

Deno.test("disk errors: the folder takes no writes on EROFS, EACCES, EPERM, EIO only; ENOSPC stays (507)", () =>
  withTempDir(async (dir) => {
    const { notDir, gone } = await realErrors(dir);
    const unwritable = [
      new Deno.errors.PermissionDenied("denied"),
      ...["EROFS", "EACCES", "EPERM", "EIO"].map(osError),
    ];
    for (const error of unwritable) {
      const mapped = folderUnwritable(error);
      assert.ok(mapped instanceof StorageUnwritableError, String(error));
      assert.equal(
        mapped.message,
        `The files folder takes no writes: ${error.message}`,
      );
      assert.equal(mapped.cause, error);
    }
    for (const error of [notDir, gone, osError("ENOSPC"), osError("ELOOP")]) {
      assert.equal(folderUnwritable(error), error);
    }
  }));

Deno.test("disk errors: a folder that cannot be made is unusable, whatever the error", () => {
  const made = folderUnmade("/d/files", osError("ENOSPC"));
  assert.ok(made instanceof StorageUnavailableError);
  assert.equal(made.message, "/d/files cannot be made: ENOSPC: os error");
  const already = new StorageUnavailableError("kept");
  assert.equal(folderUnmade("/d/files", already), already);
  assert.equal(folderUnmade("/d", "text").message, "/d cannot be made: text");
});
