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
import process from "node:process";

const MiB = 1024 * 1024;
/** What the service's hash worker gets per update (one batch's buffer). */
const PIECE_BYTES = 2 * MiB;

/** What hashing a file cost: its rate, and the CPU it took per GiB. */
export interface HashCost {
  /** MiB hashed per second of the hash's own wall time. */
  mibPerSecond: number;
  /**
   * CPU ms per GiB, counted around each update only: what any server that
   * hashes the body spends on the hash, at the least (unlike the rate, a
   * busy machine does not inflate it).
   */
  cpuMsPerGiB: number;
}

/**
 * The process's CPU time so far, ms (getrusage, microseconds). Read around
 * a synchronous update, it is the hash's: nothing else runs meanwhile.
 */
function cpuMsNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * The MiB/s and CPU per GiB of hashing `path` on this thread, counting the
 * hash's time only (not the reads, which the service's hash worker does
 * not do).
 */
export async function hashFile(path: string): Promise<HashCost> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(PIECE_BYTES);
  const hash = createHash("sha256");
  let hashMs = 0;
  let cpuMs = 0;
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
    const [started, cpu] = [performance.now(), cpuMsNow()];
    hash.update(buffer.subarray(0, filled));
    hashMs += performance.now() - started;
    cpuMs += cpuMsNow() - cpu;
    bytes += filled;
    if (filled < buffer.length) break;
  }
  const [started, cpu] = [performance.now(), cpuMsNow()];
  hash.digest();
  hashMs += performance.now() - started;
  cpuMs += cpuMsNow() - cpu;
  if (bytes === 0) throw new RangeError(`${path} is empty`);
  return {
    mibPerSecond: bytes / MiB / (hashMs / 1000),
    cpuMsPerGiB: cpuMs * 1024 * MiB / bytes,
  };
}

/**
 * The SHA-256 ceiling for `path` (MiB/s, and CPU per GiB), from a fresh
 * process (as the service's hash worker is its own thread, apart from the
 * benchmark's).
 */
export async function hashCeiling(path: string): Promise<HashCost> {
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
  const cost = JSON.parse(new TextDecoder().decode(stdout));
  if (!(cost?.mibPerSecond > 0) || !(cost?.cpuMsPerGiB > 0)) {
    throw new Error(`hash_ceiling.ts printed ${JSON.stringify(cost)}`);
  }
  return cost;
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (path === undefined) throw new TypeError("usage: hash_ceiling.ts FILE");
  // deno-lint-ignore no-console
  console.log(JSON.stringify(await hashFile(path)));
}
