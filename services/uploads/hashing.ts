/**
 * The SHA-256 of an upload's content, fed buffer by buffer in body order
 * once each buffer is written: {@linkcode inlineHash} hashes on the
 * calling thread; a {@linkcode HashWorker} hashes on a worker thread, so
 * an upload's hashing (about as costly as the rest of its main-thread
 * work together) runs on another core alongside the reading and writing.
 * Each buffer goes to the worker and back without a copy (transferred),
 * and is handed to `release` once hashed.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";

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

// The worker's whole program: one node:crypto hash per upload id; each
// batch of buffers is hashed and sent back (transferred), a digest on
// request.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", ({ id, buffers, lengths, end }) => {
  let hash = hashes.get(id);
  if (hash === undefined) hashes.set(id, hash = createHash("sha256"));
  if (buffers !== undefined) {
    buffers.forEach((buffer, i) =>
      hash.update(new Uint8Array(buffer, 0, lengths[i]))
    );
    parentPort.postMessage({ id, buffers }, buffers);
  }
  if (end !== undefined) {
    hashes.delete(id);
    if (end === "digest") parentPort.postMessage({ id, digest: hash.digest() });
  }
});
`;

interface Reply {
  id: number;
  buffers?: ArrayBuffer[];
  digest?: Uint8Array;
}

/** Options of {@linkcode HashWorker}. */
export interface HashWorkerOptions {
  /**
   * Most bytes one upload may have waiting at the worker; past it the
   * writer waits (`room()`), so memory stays bounded when hashing lags:
   * these bytes come on top of the queue's. Buffers go to the worker in
   * batches of half of it, so one batch is hashed while the next fills: a
   * message costs the same CPU whatever it carries (~60 µs on each side),
   * and the main thread spent about a tenth of its upload time on them
   * with a message per 1 MiB buffer. @default {4194304}
   */
  maxPendingBytes?: number;
}

interface Pending {
  /** Bytes sent to the worker and not back yet. */
  bytes: number;
  /** Buffers not sent yet, and their lengths. */
  batch: ArrayBuffer[];
  lengths: number[];
  batchBytes: number;
  release: (buffer: ArrayBuffer) => void;
  roomWaiters: (() => void)[];
  digest?: (digest: Uint8Array) => void;
}

/**
 * A worker thread that hashes the uploads in flight, started by
 * {@linkcode HashWorker.start} (or else with the first upload) and ended
 * by {@linkcode HashWorker.close}. It keeps the process alive only while
 * an upload is being hashed (`ref`/`unref`): `deno serve` ends on SIGTERM
 * with no hook to close it.
 */
export class HashWorker implements Disposable {
  #worker: Worker | undefined;
  readonly #maxPendingBytes: number;
  readonly #batchBytes: number;
  readonly #uploads = new Map<number, Pending>();
  #nextId = 0;

  constructor(options: HashWorkerOptions = {}) {
    const { maxPendingBytes = 4 * 1024 * 1024 } = options;
    if (!Number.isSafeInteger(maxPendingBytes) || maxPendingBytes < 1) {
      throw new RangeError(
        `maxPendingBytes must be a positive integer, got ${maxPendingBytes}`,
      );
    }
    this.#maxPendingBytes = maxPendingBytes;
    this.#batchBytes = Math.ceil(maxPendingBytes / 2);
  }

  /**
   * Starts the worker now, while the process has file descriptors to
   * spare. Started later, by an upload arriving while idle connections
   * hold every descriptor (a slowloris), it ended the process: Deno 2.9
   * panics when a new worker's stdio cannot be set up (`EMFILE`, an
   * `unwrap` in ext/io), which no JavaScript can catch. Costs the
   * worker's isolate (~15 MiB) in a process that never takes an upload.
   */
  start(): void {
    this.#started();
  }

  #started(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    // node:worker_threads rather than a web Worker: it can be unref'd, and
    // its code is a string, so `deno compile` and `deno bundle` outputs
    // carry it as they are.
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on("message", (reply: Reply) => this.#receive(reply));
    return this.#worker = worker;
  }

  /** A {@linkcode HashFactory} whose hashes run on this worker. */
  readonly hash: HashFactory = (release) => {
    const worker = this.#started();
    const id = this.#nextId++;
    if (this.#uploads.size === 0) worker.ref();
    const pending: Pending = {
      bytes: 0,
      batch: [],
      lengths: [],
      batchBytes: 0,
      release,
      roomWaiters: [],
    };
    this.#uploads.set(id, pending);
    const flush = () => {
      if (pending.batch.length === 0) return;
      const { batch: buffers, lengths } = pending;
      pending.bytes += pending.batchBytes;
      pending.batch = [];
      pending.lengths = [];
      pending.batchBytes = 0;
      worker.postMessage({ id, buffers, lengths }, buffers);
    };
    return {
      update: (chunk) => {
        const buffer = chunk.buffer as ArrayBuffer;
        pending.batch.push(buffer);
        pending.lengths.push(chunk.byteLength);
        pending.batchBytes += buffer.byteLength;
        if (pending.batchBytes >= this.#batchBytes) flush();
      },
      room: () => {
        if (pending.bytes + pending.batchBytes <= this.#maxPendingBytes) {
          return Promise.resolve();
        }
        flush();
        return new Promise((resolve) => pending.roomWaiters.push(resolve));
      },
      digest: () => {
        flush();
        return new Promise((resolve) => {
          pending.digest = resolve;
          worker.postMessage({ id, end: "digest" });
        });
      },
      abandon: () => {
        this.#forget(id);
        worker.postMessage({ id, end: "abandon" });
      },
    };
  };

  #receive({ id, buffers, digest }: Reply): void {
    const pending = this.#uploads.get(id);
    if (pending === undefined) return;
    if (buffers !== undefined) {
      for (const buffer of buffers) {
        pending.bytes -= buffer.byteLength;
        pending.release(buffer);
      }
      if (pending.bytes <= this.#maxPendingBytes) {
        for (const wake of pending.roomWaiters.splice(0)) wake();
      }
    }
    if (digest !== undefined) {
      this.#forget(id);
      pending.digest?.(new Uint8Array(digest));
    }
  }

  /** Done with upload `id`; the last one lets the process end again. */
  #forget(id: number): void {
    if (!this.#uploads.delete(id)) return;
    if (this.#uploads.size === 0) this.#worker?.unref();
  }

  /** Ends the worker; hashes still running never finish. */
  close(): void {
    void this.#worker?.terminate();
    this.#worker = undefined;
  }

  /** Same as {@linkcode HashWorker.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
