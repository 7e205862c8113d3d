/**
 * Tests of the upload benchmark's SHA-256 ceiling (`bench/hash_ceiling.ts`):
 * it hashes a real file in a process of its own and gives a rate, and
 * refuses an empty file rather than dividing by nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hashCeiling, hashFile } from "../bench/hash_ceiling.ts";

Deno.test("hashCeiling() hashes the file in its own process and gives MiB/s", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "data.bin");
    // 8 MiB: four full 2 MiB pieces and a short one.
    const data = new Uint8Array(8 * 1024 * 1024 + 12345);
    for (let i = 0; i < data.length; i += 65536) {
      crypto.getRandomValues(data.subarray(i, i + 65536));
    }
    await Deno.writeFile(path, data);
    const rate = await hashCeiling(path);
    // SHA-256 runs at hundreds of MiB/s on any core we run on; a rate far
    // off says the timing or the byte count is wrong.
    assert.ok(rate > 20 && rate < 20_000, `rate ${rate}`);
    const inProcess = await hashFile(path);
    assert.ok(inProcess > 20 && inProcess < 20_000, `rate ${inProcess}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashFile() refuses an empty file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "empty.bin");
    await Deno.writeFile(path, new Uint8Array());
    await assert.rejects(hashFile(path), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
