/**
 * Whether an S3 store can serve, for `/readyz`: the verdict of the
 * storage's own requests (the last one answered or failed), held for
 * {@linkcode S3HealthOptions.holdMs}; once older, one probe at a time (a
 * bounded ListObjectsV2 of no keys) makes a new one. A load balancer
 * polling every second from many places thus costs at most one request to
 * the store per `holdMs` per instance, none while files are being served.
 * Before, `/readyz` said 200 with the store unreachable, its bucket deleted
 * or the credentials refused, so a load balancer kept sending uploads to an
 * instance that could only answer 503.
 *
 * Like a `RedisHealth`, each change is said once ({@linkcode
 * S3HealthOptions.onChange}), not each failure.
 *
 * @module
 */

import {
  StorageClockError,
  StorageFullError,
  StorageMissingError,
  StorageRefusedError,
  StorageUnavailableError,
} from "./storage.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Why the store cannot serve. */
export type StoreDownReason =
  | "unreachable"
  | "bucket-missing"
  | "credentials-refused"
  | "clock-skewed";

/** What {@linkcode S3Health.verdict} says. */
export type StoreVerdict =
  | { ready: true }
  | { ready: false; reason: StoreDownReason; error: Error };

/** Options of {@linkcode S3Health}. */
export interface S3HealthOptions {
  /**
   * Asks the store whether it serves; rejects as the storage's requests
   * do. Given a signal that aborts after `probeTimeoutMs`.
   */
  probe: (signal: AbortSignal) => Promise<unknown>;
  /** How long a verdict holds before a probe renews it, ms. @default {2000} */
  holdMs?: number;
  /** Longest wait for a probe's answer, ms. @default {5000} */
  probeTimeoutMs?: number;
  /** Called once per change of the verdict (not for the first "ready"). */
  onChange?: (verdict: StoreVerdict) => void;
}

/**
 * The reason `error` (a request of the storage failed) makes the store
 * unable to serve, or `undefined`: a store full still serves reads and
 * deletes (which make room), anything but unavailability is the request's.
 */
export function downReason(error: unknown): StoreDownReason | undefined {
  if (!(error instanceof StorageUnavailableError)) return undefined;
  if (error instanceof StorageFullError) return undefined;
  if (error instanceof StorageMissingError) return "bucket-missing";
  // Before the refusal it is a kind of: the credentials are right.
  if (error instanceof StorageClockError) return "clock-skewed";
  if (error instanceof StorageRefusedError) return "credentials-refused";
  return "unreachable";
}

/** The verdict of one S3 store, from its requests and probes. */
export class S3Health {
  readonly #probe: S3HealthOptions["probe"];
  readonly #holdMs: number;
  readonly #probeTimeoutMs: number;
  readonly #onChange: ((verdict: StoreVerdict) => void) | undefined;
  #verdict: StoreVerdict = { ready: true };
  #at = -Infinity;
  #probing: Promise<StoreVerdict> | undefined;

  /** Creates the health; no request is made. */
  constructor(options: S3HealthOptions) {
    const { holdMs = 2000, probeTimeoutMs = 5000 } = options;
    checkWholeNumbers({ holdMs, probeTimeoutMs });
    this.#probe = options.probe;
    this.#holdMs = holdMs;
    this.#probeTimeoutMs = probeTimeoutMs;
    this.#onChange = options.onChange;
  }

  /** A request of the storage was answered: the store serves. */
  answered(): void {
    this.#set({ ready: true });
  }

  /** A request of the storage failed with `error`: down, if it says so. */
  failed(error: unknown): void {
    const reason = downReason(error);
    if (reason !== undefined) {
      this.#set({ ready: false, reason, error: error as Error });
    }
  }

  /**
   * The verdict: the last one while it holds; else a probe's, waited for
   * at most `waitMs` (the last verdict meanwhile: the probe goes on and
   * renews it).
   */
  async verdict(waitMs: number): Promise<StoreVerdict> {
    if (performance.now() - this.#at < this.#holdMs) return this.#verdict;
    this.#probing ??= this.#probeOnce().finally(() => {
      this.#probing = undefined;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<StoreVerdict>((resolve) => {
      timer = setTimeout(() => resolve(this.#verdict), waitMs);
    });
    try {
      return await Promise.race([this.#probing, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #probeOnce(): Promise<StoreVerdict> {
    try {
      await this.#probe(AbortSignal.timeout(this.#probeTimeoutMs));
      this.answered();
    } catch (error) {
      const failure = probeFailure(error, this.#probeTimeoutMs);
      // Any other refusal is not the store's state: the last verdict holds.
      if (failure === undefined) this.#at = performance.now();
      else this.failed(failure);
    }
    return this.#verdict;
  }

  #set(verdict: StoreVerdict): void {
    const changed = verdict.ready !== this.#verdict.ready ||
      !verdict.ready && !this.#verdict.ready &&
        verdict.reason !== this.#verdict.reason;
    this.#verdict = verdict;
    this.#at = performance.now();
    if (changed) this.#onChange?.(verdict);
  }
}

/**
 * What a probe's `error` says of the store: itself when the store is
 * unavailable, an unavailability when the probe's own timeout cut it off,
 * else `undefined` (another refusal, of that request).
 */
function probeFailure(
  error: unknown,
  timeoutMs: number,
): StorageUnavailableError | undefined {
  if (error instanceof StorageUnavailableError) return error;
  if (!(error instanceof DOMException) || error.name !== "TimeoutError") {
    return undefined;
  }
  return new StorageUnavailableError(
    `The object store did not answer in ${timeoutMs} ms`,
    { cause: error },
  );
}
