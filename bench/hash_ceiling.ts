/**
 * The SHA-256 ceiling of an upload (issue 11): how fast one core hashes the
 * upload benchmark's file with the hash the service uses (node:crypto's
 * SHA-256, fed 2 MiB at a time as the service's hash worker is), measured
 * in a process of its own between the upload rounds, so it sees the same
 * machine and load as they do.
 *
 * The service hashes every byte before its 201, and one SHA-256 cannot be
 * split across cores (each block depends on the one before), so no
 * arrangement of its reads and writes uploads faster than this: a target
 * above it is out of reach while the content is hashed. It is an upper
 * bound, not a forecast; the reads, writes and the client share the other
 * core.
 *
 * Run: `deno run --allow-read bench/hash_ceiling.ts FILE` prints
 * `{"mibPerSecond": ...}`; or import {@linkcode hashCeiling}.
 *
 * @module
 */

import { createHash } from "node:crypto";

const MiB = 1024 * 1024;
/** What the service's hash worker gets per update (one batch's buffer). */
const PIECE_BYTES = 2 * MiB;

/**
 * The MiB/s of hashing `path` on this thread, counting the hash's time
 * only (not the reads, which the service's hash worker does not do).
 */
export async function hashFile(path: string): Promise<number> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(PIECE_BYTES);
  const hash = createHash("sha256");
  let hashMs = 0;
  let bytes = 0;
  while (true) {
    // Fill the whole piece, as the worker's batches are full ones.
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled === 0) break;
    const started = performance.now();
    hash.update(buffer.subarray(0, filled));
    hashMs += performance.now() - started;
    bytes += filled;
    if (filled < buffer.length) break;
  }
  const started = performance.now();
  hash.digest();
  hashMs += performance.now() - started;
  if (bytes === 0) throw new RangeError(`${path} is empty`);
  return bytes / MiB / (hashMs / 1000);
}

/**
 * The SHA-256 ceiling for `path` in MiB/s, from a fresh process (as the
 * service's hash worker is its own thread, apart from the benchmark's).
 */
export async function hashCeiling(path: string): Promise<number> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", new URL(import.meta.url).pathname, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `hash_ceiling.ts failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  const { mibPerSecond } = JSON.parse(new TextDecoder().decode(stdout));
  if (typeof mibPerSecond !== "number" || !(mibPerSecond > 0)) {
    throw new Error(`hash_ceiling.ts printed ${mibPerSecond}`);
  }
  return mibPerSecond;
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (path === undefined) throw new TypeError("usage: hash_ceiling.ts FILE");
  // deno-lint-ignore no-console
  console.log(JSON.stringify({ mibPerSecond: await hashFile(path) }));
}
