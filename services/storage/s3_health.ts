/**
 * Whether an S3 store can serve, for `/readyz`: the verdict of the
 * storage's own requests (the last one answered or failed), held for
 * {@linkcode HOLD_MS}; once older, one probe at a time (a bounded
 * ListObjectsV2 of no keys) makes a new one. A load balancer polling every
 * second from many places thus costs at most one request to the store per
 * `HOLD_MS` per instance, none while files are being served. Before,
 * `/readyz` said 200 with the store unreachable, its bucket deleted or the
 * credentials refused, so a load balancer kept sending uploads to an
 * instance that could only answer 503.
 *
 * A store that takes connections and never answers (a radosgw process
 * stopped, a path gone dark) is `unresponsive` once a probe has waited
 * {@linkcode S3HealthOptions.unresponsiveMs} (the caller's `S3_TIMEOUT_MS`,
 * at most 2 s), not when the probe gives up: `/readyz` stayed 200 for the
 * probe's whole 5 s cap before, each call waiting 200 ms on it, while a
 * load balancer sent uploads that waited `S3_TIMEOUT_MS` each. So `/readyz`
 * turns 503 at most `HOLD_MS` + `unresponsiveMs` (4 s) after the store's
 * last answer (plus the load balancer's polling interval), and only the
 * call that starts a probe waits for it (200 ms at most,
 * `routes/ops/health.ts`): the others answer the last verdict.
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
import { isNotTheBucket, StorageTimeoutError } from "./s3_errors.ts";
import { StorageProxyError } from "./proxy_tunnel.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Why the store cannot serve. */
export type StoreDownReason =
  | "unreachable"
  | "unresponsive"
  | "bucket-missing"
  | "credentials-refused"
  | "clock-skewed"
  | "proxy-refused"
  | "not-the-bucket";

/** What {@linkcode S3Health.verdict} says. */
export type StoreVerdict =
  | { ready: true }
  | { ready: false; reason: StoreDownReason; error: Error };

/**
 * How long a verdict holds before a probe renews it, ms: fixed, as it only
 * bounds the cost on the store (one probe per instance per hold) and how
 * stale a 200 can be; the time to a 503 is `unresponsiveMs`'s to set.
 */
export const HOLD_MS = 2000;

/** The most {@linkcode S3HealthOptions.unresponsiveMs} defaults to, ms. */
export const MAX_UNRESPONSIVE_MS = 2000;

/** Options of {@linkcode S3Health}. */
export interface S3HealthOptions {
  /**
   * Asks the store whether it serves; rejects as the storage's requests
   * do (a store that stays silent: within the storage's own timeout).
   */
  probe: () => Promise<unknown>;
  /**
   * How long a probe may go unanswered before the store is `unresponsive`
   * (the probe goes on: its answer makes the store ready again).
   * @default {2000}
   */
  unresponsiveMs?: number;
  /** Called once per change of the verdict (not for the first "ready"). */
  onChange?: (verdict: StoreVerdict) => void;
}

/**
 * The reason `error` (a request of the storage failed) makes the store
 * unable to serve, or `undefined`: a store full still serves reads and
 * deletes (which make room), anything but unavailability is the request's.
 */
export function downReason(error: unknown): StoreDownReason | undefined {
  // A setting to fix (the start stops on it), and no file serves meanwhile.
  if (isNotTheBucket(error)) return "not-the-bucket";
  if (!(error instanceof StorageUnavailableError)) return undefined;
  if (error instanceof StorageFullError) return undefined;
  if (error instanceof StorageMissingError) return "bucket-missing";
  // Before the refusal it is a kind of: the credentials are right.
  if (error instanceof StorageClockError) return "clock-skewed";
  if (error instanceof StorageRefusedError) return "credentials-refused";
  if (error instanceof StorageTimeoutError) return "unresponsive";
  // The store may be up: the proxy's settings are the ones to look at.
  if (error instanceof StorageProxyError) return "proxy-refused";
  return "unreachable";
}

/** The verdict of one S3 store, from its requests and probes. */
export class S3Health {
  readonly #probe: S3HealthOptions["probe"];
  readonly #unresponsiveMs: number;
  readonly #onChange: ((verdict: StoreVerdict) => void) | undefined;
  #verdict: StoreVerdict = { ready: true };
  #at = -Infinity;
  #probing: Promise<StoreVerdict> | undefined;

  /** Creates the health; no request is made. */
  constructor(options: S3HealthOptions) {
    const { unresponsiveMs = MAX_UNRESPONSIVE_MS } = options;
    checkWholeNumbers({ unresponsiveMs }, { min: 1 });
    this.#probe = options.probe;
    this.#unresponsiveMs = unresponsiveMs;
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
   * The verdict: the last one while it holds or while a probe is under way
   * (it turns `unresponsive` once the probe is late); else a new probe's,
   * waited for at most `waitMs` by this call alone (the last verdict
   * meanwhile: the probe goes on and renews it).
   */
  async verdict(waitMs: number): Promise<StoreVerdict> {
    if (performance.now() - this.#at < HOLD_MS) return this.#verdict;
    if (this.#probing !== undefined) return this.#verdict;
    const probing = this.#probeOnce().finally(() => {
      this.#probing = undefined;
    });
    this.#probing = probing;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<StoreVerdict>((resolve) => {
      timer = setTimeout(() => resolve(this.#verdict), waitMs);
    });
    try {
      return await Promise.race([probing, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #probeOnce(): Promise<StoreVerdict> {
    // Late, the store is unresponsive at once, said once, whether or not
    // `/readyz` is being asked; the probe's answer, if it comes, renews it.
    // Not when another request was answered (or failed) meanwhile: that
    // says more of the store than one probe's silence.
    const ms = this.#unresponsiveMs;
    const since = performance.now();
    const late = setTimeout(() => {
      if (this.#at <= since) this.failed(unanswered(ms));
    }, ms);
    try {
      await this.#probe();
      this.answered();
    } catch (error) {
      // Any other refusal is not the store's state: the last verdict holds.
      if (downReason(error) === undefined) this.#at = performance.now();
      else this.failed(error);
    } finally {
      clearTimeout(late);
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

/** What a probe unanswered for `ms` says of the store. */
function unanswered(ms: number): StorageTimeoutError {
  return new StorageTimeoutError(
    `The object store did not answer a listing of no keys in ${ms} ms`,
  );
}
