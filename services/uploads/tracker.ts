/**
 * Bookkeeping of the uploads in flight: how many run in all and per client
 * address (so a few clients cannot take every slot), the bytes of buffers
 * they hold, a promise that
 * resolves once none runs (the shutdown drain), and one abort signal per
 * upload so a shutdown whose grace period ran out can stop them all.
 *
 * ```ts
 * const tracker = new UploadTracker();
 * using slot = tracker.begin("192.0.2.7");
 * // ... receiveUpload(body, { signal: slot.signal, ... })
 * ```
 *
 * @module
 */

import { ClientCounts } from "../http/client_counts.ts";
import { BufferAccount } from "./buffers.ts";

/** One running upload; dispose of it (or call `done`) when it ends. */
export interface UploadSlot extends Disposable {
  /** Aborted by {@linkcode UploadTracker.abortAll}, with its reason. */
  readonly signal: AbortSignal;
  /** Where the upload counts its buffers: {@linkcode UploadTracker.buffers}. */
  readonly buffers: BufferAccount;
  /** Frees the slot; calling it again does nothing. */
  done(): void;
}

/**
 * The reason {@linkcode UploadTracker.abortAll} gives when a shutdown's
 * grace period ran out: the upload is answered 503 and nothing is kept.
 */
export class UploadsStoppedError extends Error {
  /** Creates the error. */
  constructor(message = "The service is shutting down") {
    super(message);
    this.name = "UploadsStoppedError";
  }
}

// Uploads of requests with no known peer (in-process tests, `deno serve`
// without connection info) are counted together under this key.
const UNKNOWN_CLIENT = "unknown";

/** Tracks the uploads in flight, in all and per client. */
export class UploadTracker {
  /** The bytes of buffers the uploads in flight hold. */
  readonly buffers = new BufferAccount();
  #active = 0;
  readonly #byClient = new ClientCounts();
  readonly #running = new Set<AbortController>();
  #idle: PromiseWithResolvers<void> | undefined;

  /** Uploads running now. */
  get active(): number {
    return this.#active;
  }

  /** Uploads running now for `client` (a remote address). */
  activeFor(client: string | undefined): number {
    return this.#byClient.of(client ?? UNKNOWN_CLIENT);
  }

  /** Marks an upload of `client` started. */
  begin(client?: string): UploadSlot {
    const key = client ?? UNKNOWN_CLIENT;
    const controller = new AbortController();
    this.#active++;
    this.#byClient.add(key);
    this.#running.add(controller);
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      this.#running.delete(controller);
      this.#byClient.remove(key);
      this.#active--;
      if (this.#active === 0) {
        this.#idle?.resolve();
        this.#idle = undefined;
      }
    };
    return {
      signal: controller.signal,
      buffers: this.buffers,
      done,
      [Symbol.dispose]: done,
    };
  }

  /**
   * Aborts every running upload with `reason`; resolves how many there
   * were. Their slots stay taken until each upload has cleaned up and
   * called `done`, so {@linkcode idle} still tells when that happened.
   */
  abortAll(reason: unknown): number {
    const running = [...this.#running];
    for (const controller of running) controller.abort(reason);
    return running.length;
  }

  /** Resolves once no upload is running. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }
}
