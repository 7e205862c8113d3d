/**
 * A disk upload hands the kernel its buffers in write calls of at most
 * WRITE_PIECE_BYTES (256 KiB): on the project's hosts a 2 MiB write costs
 * several times more CPU per byte than the same bytes in 256 KiB writes
 * (large page-cache folios taken from memory handed back to the host;
 * bench/PROFILE.md). Counted with the kernel's own count of this process's
 * write calls (`syscw` in /proc/self/io, all threads), and the file stored
 * intact.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { WRITE_PIECE_BYTES } from "../services/storage/disk_upload.ts";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

/** This process's write calls so far, all threads (the blocking pool's too). */
async function writeCalls(): Promise<number> {
  const io = await Deno.readTextFile("/proc/self/io");
  const match = /^syscw: (\d+)$/m.exec(io);
  if (!match) throw new Error(`no syscw in /proc/self/io:\n${io}`);
  return Number(match[1]);
}

Deno.test("a disk upload writes a big buffer in pieces of at most 256 KiB, and stores it intact", async () => {
  assert.equal(WRITE_PIECE_BYTES, 256 * 1024);
  await withTempDir(async (dir) => {
    const storage = await createLocalDiskStorage({ dir });
    const upload = await storage.begin();
    // Not a multiple of the piece: the last write is the short rest.
    const chunk = new Uint8Array(4 * 1024 * 1024 + 1000);
    for (let i = 0; i < chunk.byteLength; i += 4096) chunk[i] = i >> 12;
    const before = await writeCalls();
    await upload.write(chunk);
    const calls = (await writeCalls()) - before;
    const pieces = Math.ceil(chunk.byteLength / WRITE_PIECE_BYTES);
    // At least one call per piece (a short write makes one more); one
    // call for the whole buffer before.
    assert.ok(
      calls >= pieces,
      `${calls} write calls for ${chunk.byteLength} bytes, want >= ${pieces}`,
    );
    const sha256 = createHash("sha256").update(chunk).digest("hex");
    await upload.commit({ size: chunk.byteLength, sha256 });
    const stored = await Deno.readFile(join(dir, upload.id));
    assert.equal(createHash("sha256").update(stored).digest("hex"), sha256);
  });
});
