/**
 * The minimum average rate of an upload body. An idle timeout alone resets
 * on every byte, so a client sending one byte a second holds an upload slot
 * for ever; this floor (like nginx's `client_body_timeout` plus a minimum
 * rate) fails an upload whose average rate, once past a grace window, is
 * below `minBytesPerSecond`.
 *
 * Time is what the caller counts: the upload pipeline counts only the time
 * spent waiting for the network, so a slow disk never makes a client look
 * slow.
 *
 * ```ts
 * const floor = new RateFloor({ minBytesPerSecond: 1024, graceMs: 10_000 });
 * floor.tooSlow(5, 12_000); // true
 * floor.msUntilTooSlow(20_480, 0); // 20000: 20 KiB last 20 s at 1 KiB/s
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Default floor: 1 KiB/s. */
export const DEFAULT_MIN_BYTES_PER_SECOND = 1024;
/** Default grace window before the floor applies: 10 s. */
export const DEFAULT_RATE_GRACE_MS = 10_000;

/** Options of {@linkcode RateFloor}. */
export interface RateFloorOptions {
  /** The lowest accepted average rate; 0 disables the floor. @default {1024} */
  minBytesPerSecond?: number;
  /** The floor applies only after this much time. @default {10000} */
  graceMs?: number;
}

/** A minimum average rate that applies after a grace window. */
export class RateFloor {
  /** The lowest accepted average rate (0: none). */
  readonly minBytesPerSecond: number;
  /** How long an upload may run before the floor applies. */
  readonly graceMs: number;

  /** Validates the options; throws `RangeError` on bad values. */
  constructor(options: RateFloorOptions = {}) {
    const {
      minBytesPerSecond = DEFAULT_MIN_BYTES_PER_SECOND,
      graceMs = DEFAULT_RATE_GRACE_MS,
    } = options;
    checkWholeNumbers({ minBytesPerSecond }, { min: 0 });
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw new RangeError("graceMs must be a non-negative number");
    }
    this.minBytesPerSecond = minBytesPerSecond;
    this.graceMs = graceMs;
  }

  /** Whether `bytes` in `elapsedMs` is below the floor, past the grace window. */
  tooSlow(bytes: number, elapsedMs: number): boolean {
    return this.minBytesPerSecond > 0 && elapsedMs >= this.graceMs &&
      bytes * 1000 < this.minBytesPerSecond * elapsedMs;
  }

  /**
   * How much more time `bytes` received in `elapsedMs` stay enough if no
   * more arrive (0 once too slow; `Infinity` with no floor): when to check
   * again.
   */
  msUntilTooSlow(bytes: number, elapsedMs: number): number {
    if (this.minBytesPerSecond === 0) return Infinity;
    const limit = Math.max(
      this.graceMs,
      (bytes * 1000) / this.minBytesPerSecond,
    );
    return Math.max(0, limit - elapsedMs);
  }

  /** The average rate of `bytes` in `elapsedMs`, in bytes per second. */
  static rate(bytes: number, elapsedMs: number): number {
    return elapsedMs <= 0 ? 0 : Math.round((bytes * 1000) / elapsedMs);
  }
}
