/**
 * The SHA-256 of an upload's content on a worker thread (`content_hash.ts`
 * says what a hash is, and hashes on the calling thread): a
 * {@linkcode HashWorker} hashes each upload's buffers there, so
 * an upload's hashing (about as costly as the rest of its main-thread
 * work together) runs on another core alongside the reading and writing.
 * Each buffer goes to the worker and back without a copy (transferred),
 * and is handed to `release` once hashed.
 *
 * The worker can end under the uploads it hashes: {@linkcode HashWorker.close}
 * at shutdown, or a death (an uncaught error, the runtime ending the
 * thread). What it had hashed is gone with it, and no reply will come, so
 * every upload it was hashing has its `room()` and `digest()` waiters
 * rejected with a {@linkcode HashWorkerEndedError}: the pipeline fails the
 * upload as it fails any other (503, `.part` removed, slot freed). Without
 * that they waited for ever, the connection hung, the slot and the `.part`
 * were never freed, and a shutdown waited on them. A dead worker is
 * replaced from a timer, not by the next upload (a thread started while
 * every file descriptor is taken ends the process, see
 * {@linkcode HashWorker.start}), and, when it dies again and again, after
 * a wait that doubles up to a minute, so a worker that cannot live does
 * not make the process spin on thread starts. Nor does the timer start one
 * while descriptors are short: it fired whatever they were, and a death
 * while slow downloads held every descriptor ended the process; a worker
 * starts only when {@linkcode WORKER_DESCRIPTORS} are free, else it is
 * asked again a second later (`hash_worker.waiting`, then
 * `hash_worker.started`). Until a worker is back,
 * uploads hash on the calling thread ({@linkcode inlineHash}): slower, but
 * they are stored.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import { descriptorsSpare } from "../ops/descriptors.ts";
import type { Logger } from "../ops/logger.ts";
import { HashWorkerEndedError } from "./errors.ts";
import {
  errorOf,
  type Fatal,
  type Reply,
  WORKER_SOURCE,
} from "./hash_worker_source.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import {
  type ContentHash,
  type HashFactory,
  inlineHash,
} from "./content_hash.ts";

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
  /**
   * Longest a buffer waits in a batch that is not full before the batch
   * goes anyway. A slow upload's buffers are mostly empty (each carries
   * what one read brought, a few KiB), and batches were counted by their
   * buffers' size: one held up to 32 buffers of 64 KiB for half a minute,
   * so every slow upload kept ~2 MiB (100 uploads at 2 KiB/s: RSS +164
   * MiB). Now a batch holds what arrived in this time, and its buffers come
   * back for the next reads. At most one message per upload per this time
   * from waiting: a message costs ~60 µs on each side. @default {100}
   */
  maxBatchWaitMs?: number;
  /** Receives `hash_worker.exited` when the worker dies. */
  logger?: Logger;
}

// The second death in a row waits this long for a new worker; each next
// one twice as long, up to MAX_RESTART_DELAY_MS. A worker that hashed a
// whole upload resets the count.
const RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 60_000;
/**
 * Descriptors free before a worker starts: its thread takes six (Deno 2.9
 * panics with five), and connections and files may take some just after.
 */
export const WORKER_DESCRIPTORS = 32;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

interface Pending {
  /** The worker hashing this upload. */
  worker: Worker;
  /** Set once that worker ended: every later call fails with it. */
  failed?: HashWorkerEndedError;
  /** Bytes sent to the worker and not back yet. */
  bytes: number;
  /** Buffers not sent yet, and their lengths. */
  batch: ArrayBuffer[];
  lengths: number[];
  batchBytes: number;
  /** Sends a batch that is not full once `maxBatchWaitMs` passed. */
  batchTimer?: ReturnType<typeof setTimeout> | undefined;
  release: (buffer: ArrayBuffer) => void;
  roomWaiters: Waiter<void>[];
  digest?: Waiter<Uint8Array>;
}

/**
 * A worker thread that hashes the uploads in flight, started by
 * {@linkcode HashWorker.start} (or else with the first upload) and ended
 * by {@linkcode HashWorker.close}; a worker that dies is replaced (see the
 * module doc). It keeps the process alive only while an upload is being
 * hashed (`ref`/`unref`): `deno serve` ends on SIGTERM with no hook to
 * close it.
 */
export class HashWorker implements Disposable {
  #worker: Worker | undefined;
  #closed = false;
  #restart: ReturnType<typeof setTimeout> | undefined;
  #deaths = 0;
  /** Set while a worker waits for descriptors (see the module doc). */
  #waiting = false;
  readonly #maxPendingBytes: number;
  readonly #batchBytes: number;
  readonly #maxBatchWaitMs: number;
  readonly #logger: Logger | undefined;
  readonly #uploads = new Map<number, Pending>();
  #nextId = 0;

  constructor(options: HashWorkerOptions = {}) {
    const {
      maxPendingBytes = 4 * 1024 * 1024,
      maxBatchWaitMs = 100,
      logger,
    } = options;
    checkWholeNumbers({ maxPendingBytes });
    checkWholeNumbers({ maxBatchWaitMs }, { min: 0 });
    this.#maxPendingBytes = maxPendingBytes;
    this.#maxBatchWaitMs = maxBatchWaitMs;
    this.#batchBytes = Math.ceil(maxPendingBytes / 2);
    this.#logger = logger;
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
    this.#current();
  }

  /**
   * The worker to hash on: the running one, else a first one; `undefined`
   * once closed or while a dead one waits to be replaced.
   */
  #current(): Worker | undefined {
    if (
      this.#worker === undefined && !this.#closed &&
      this.#restart === undefined
    ) {
      this.#launch();
    }
    return this.#worker;
  }

  #launch(): void {
    // Asked before, not after a failure: the failure is a panic. 32
    // loopback listeners opened and closed: ~0.3 ms, once a launch (a
    // worker takes ~0.2 s to start), never per upload.
    if (!descriptorsSpare(WORKER_DESCRIPTORS)) {
      if (!this.#waiting) {
        this.#logger?.warn("hash_worker.waiting", {
          reason: "too few file descriptors free to start a thread",
          retryInMs: RESTART_DELAY_MS,
        });
      }
      this.#waiting = true;
      return this.#retryIn(RESTART_DELAY_MS);
    }
    if (this.#waiting) this.#logger?.info("hash_worker.started");
    this.#waiting = false;
    // node:worker_threads rather than a web Worker: it can be unref'd, and
    // its code is a string, so `deno compile` and `deno bundle` outputs
    // carry it as they are.
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    // An 'error' comes before its 'exit'; with no listener it would be
    // thrown on the main thread.
    let failure: unknown;
    worker.on("error", (error: unknown) => failure = error);
    worker.on("exit", (code: number) =>
      this.#died(
        worker,
        failure ?? new Error(`The hash worker exited with code ${code}`),
      ));
    worker.on("message", (reply: Reply | Fatal) => {
      if (!("fatal" in reply)) return this.#receive(reply);
      // Ended here, so its error reaches the log (and only the log).
      failure = errorOf(reply);
      void worker.terminate();
    });
    this.#worker = worker;
  }

  /**
   * A {@linkcode HashFactory} whose hashes run on this worker (on the
   * calling thread while there is none).
   */
  readonly hash: HashFactory = (release) => {
    const worker = this.#current();
    if (worker === undefined) return inlineHash(release);
    const id = this.#nextId++;
    if (this.#uploads.size === 0) worker.ref();
    const pending: Pending = {
      worker,
      bytes: 0,
      batch: [],
      lengths: [],
      batchBytes: 0,
      release,
      roomWaiters: [],
    };
    this.#uploads.set(id, pending);
    return this.#handle(id, pending);
  };

  /** The {@linkcode ContentHash} of upload `id`. */
  #handle(id: number, pending: Pending): ContentHash {
    const { worker } = pending;
    const flush = () => {
      clearTimeout(pending.batchTimer);
      pending.batchTimer = undefined;
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
        // Its hash is lost: the buffer goes back, room() says why.
        if (pending.failed) return pending.release(buffer);
        pending.batch.push(buffer);
        pending.lengths.push(chunk.byteLength);
        pending.batchBytes += buffer.byteLength;
        if (pending.batchBytes >= this.#batchBytes) flush();
        else {
          pending.batchTimer ??= setTimeout(flush, this.#maxBatchWaitMs);
        }
      },
      room: () => {
        if (pending.failed) return Promise.reject(pending.failed);
        if (pending.bytes + pending.batchBytes <= this.#maxPendingBytes) {
          return Promise.resolve();
        }
        flush();
        return new Promise((resolve, reject) =>
          pending.roomWaiters.push({ resolve, reject })
        );
      },
      digest: () => {
        if (pending.failed) return Promise.reject(pending.failed);
        flush();
        return new Promise((resolve, reject) => {
          pending.digest = { resolve, reject };
          worker.postMessage({ id, end: "digest" });
        });
      },
      abandon: () => {
        clearTimeout(pending.batchTimer);
        if (!this.#forget(id)) return;
        // Nobody takes them back: their memory goes now (see #receive).
        for (const buffer of pending.batch.splice(0)) buffer.transfer(0);
        worker.postMessage({ id, end: "abandon" });
      },
    };
  }

  #receive({ id, buffers, digest }: Reply): void {
    const pending = this.#uploads.get(id);
    if (pending === undefined) {
      // An abandoned upload's buffers: nobody takes them, so their memory
      // goes now (detached) rather than at some later collection.
      for (const buffer of buffers ?? []) buffer.transfer(0);
      return;
    }
    if (buffers !== undefined) {
      for (const buffer of buffers) {
        pending.bytes -= buffer.byteLength;
        pending.release(buffer);
      }
      if (pending.bytes <= this.#maxPendingBytes) {
        for (const waiter of pending.roomWaiters.splice(0)) waiter.resolve();
      }
    }
    if (digest !== undefined) {
      this.#forget(id);
      // A whole upload hashed: this worker lives.
      this.#deaths = 0;
      pending.digest?.resolve(new Uint8Array(digest));
    }
  }

  /**
   * Done with upload `id`; the last one lets the process end again.
   * Returns whether it was still being hashed.
   */
  #forget(id: number): boolean {
    if (!this.#uploads.delete(id)) return false;
    if (this.#uploads.size === 0) this.#worker?.unref();
    return true;
  }

  /** The current worker ended: every upload on it fails. */
  #end(cause: unknown): number {
    this.#worker = undefined;
    const error = new HashWorkerEndedError({ cause });
    const failed = [...this.#uploads.values()];
    this.#uploads.clear();
    for (const pending of failed) {
      pending.failed = error;
      clearTimeout(pending.batchTimer);
      for (const waiter of pending.roomWaiters.splice(0)) waiter.reject(error);
      pending.digest?.reject(error);
    }
    return failed.length;
  }

  /** The worker `worker` exited; unless closed, a new one follows. */
  #died(worker: Worker, cause: unknown): void {
    if (worker !== this.#worker) return;
    const uploads = this.#end(cause);
    this.#deaths++;
    const delayMs = this.#deaths === 1 ? 0 : Math.min(
      MAX_RESTART_DELAY_MS,
      RESTART_DELAY_MS * 2 ** (this.#deaths - 2),
    );
    this.#logger?.error("hash_worker.exited", {
      error: cause,
      uploads,
      restartInMs: delayMs,
    });
    this.#retryIn(delayMs);
  }

  /** A worker is started (or asked for again) in `delayMs`. */
  #retryIn(delayMs: number): void {
    this.#restart = setTimeout(() => {
      this.#restart = undefined;
      this.#current();
    }, delayMs);
    // A process that has nothing else to do may end meanwhile.
    Deno.unrefTimer(this.#restart);
  }

  /**
   * Ends the worker for good: the hashes still running fail with a
   * {@linkcode HashWorkerEndedError}, later ones run on the calling thread.
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#restart);
    this.#restart = undefined;
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#end(new Error("The hash worker was closed"));
    void worker.terminate();
  }

  /** Same as {@linkcode HashWorker.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
