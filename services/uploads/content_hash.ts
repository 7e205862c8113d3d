/**
 * What an upload's running SHA-256 looks like to the pipeline
 * ({@linkcode ContentHash}, started by a {@linkcode HashFactory}), and the
 * factory that hashes on the calling thread ({@linkcode inlineHash}): fed
 * buffer by buffer in body order once each buffer is written, each buffer
 * handed to `release` once hashed. The worker thread that hashes off the
 * main thread is `hashing.ts`'s, and falls back to this one.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** One upload's running hash. */
export interface ContentHash {
  /**
   * Hashes `chunk`, a view at the start of its buffer. The buffer belongs
   * to the hash from now on and goes to `release` once hashed.
   */
  update(chunk: Uint8Array): void;
  /** Resolves once at most the hash's limit of bytes waits to be hashed. */
  room(): Promise<void>;
  /** The SHA-256 of everything fed to `update`. */
  digest(): Promise<Uint8Array>;
  /** Drops the hash (the upload failed); buffers in flight are let go. */
  abandon(): void;
}

/** Starts one upload's hash; hashed buffers go to `release`. */
export type HashFactory = (
  release: (buffer: ArrayBuffer) => void,
) => ContentHash;

/** A {@linkcode HashFactory} that hashes on the calling thread, at once. */
export function inlineHash(
  release: (buffer: ArrayBuffer) => void,
): ContentHash {
  const hash = createHash("sha256");
  return {
    update(chunk) {
      hash.update(chunk);
      release(chunk.buffer as ArrayBuffer);
    },
    room: () => Promise.resolve(),
    digest: () => Promise.resolve(new Uint8Array(hash.digest())),
    abandon() {},
  };
}
