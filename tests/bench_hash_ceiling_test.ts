/**
 * Tests of the upload benchmark's SHA-256 ceiling (`bench/hash_ceiling.ts`):
 * it hashes a real file in a process of its own and gives a rate and the
 * CPU it took, and refuses an empty file rather than dividing by nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hashCeiling, hashFile } from "../bench/hash_ceiling.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

Deno.test("hashCeiling() hashes the file in its own process and gives MiB/s and CPU per GiB", async () => {
  await using temp = await tempDir();
  const dir = temp.path;
  const path = join(dir, "data.bin");
  // 8 MiB: four full 2 MiB pieces and a short one.
  const data = new Uint8Array(8 * 1024 * 1024 + 12345);
  for (let i = 0; i < data.length; i += 65536) {
    crypto.getRandomValues(data.subarray(i, i + 65536));
  }
  await Deno.writeFile(path, data);
  // SHA-256 runs at hundreds of MiB/s on any core we run on (tens of ms
  // to a few s of CPU per GiB); a figure far off says the timing, the
  // CPU reading or the byte count is wrong.
  for (const cost of [await hashCeiling(path), await hashFile(path)]) {
    assert.ok(
      cost.mibPerSecond > 20 && cost.mibPerSecond < 20_000,
      `rate ${cost.mibPerSecond}`,
    );
    assert.ok(
      cost.cpuMsPerGiB > 50 && cost.cpuMsPerGiB < 50_000,
      `CPU per GiB ${cost.cpuMsPerGiB}`,
    );
  }
});

Deno.test("hashFile() refuses an empty file", async () => {
  await using temp = await tempDir();
  const dir = temp.path;
  const path = join(dir, "empty.bin");
  await Deno.writeFile(path, new Uint8Array());
  await assert.rejects(hashFile(path), RangeError);
});
