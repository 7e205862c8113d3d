/**
 * A circuit breaker: after `threshold` consecutive failures it opens, and
 * for `cooldownMs` every call is refused at once instead of adding load
 * to (and waiting on) a dependency that is down. Then it lets a single
 * probe through (half-open): a success closes it, a failure opens it for
 * another cooldown.
 *
 * ```ts
 * import { CircuitBreaker } from "./circuit_breaker.ts";
 *
 * const breaker = new CircuitBreaker({ threshold: 5, cooldownMs: 5000 });
 * if (breaker.allow()) {
 *   try {
 *     // ... call the dependency
 *     breaker.record("success");
 *   } catch {
 *     breaker.record("failure");
 *   }
 * }
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** `closed` lets calls through, `open` refuses them, `half_open` probes. */
export type BreakerState = "closed" | "open" | "half_open";

/**
 * How an allowed call ended: `success` and `failure` count; `abandoned`
 * (the caller left, nothing was learnt) only frees the probe.
 */
export type BreakerOutcome = "success" | "failure" | "abandoned";

/** Options of {@linkcode CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker; 0 turns it off. */
  threshold: number;
  /** How long it stays open before a probe, in milliseconds. */
  cooldownMs: number;
  /** Clock, for tests. @default {performance.now} */
  now?: () => number;
  /** Called when the breaker opens or closes. */
  onChange?: (state: "open" | "closed") => void;
}

/** A consecutive-failure circuit breaker with a single half-open probe. */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #onChange: ((state: "open" | "closed") => void) | undefined;
  #failures = 0;
  #openedAt: number | undefined;
  #probing = false;

  constructor(options: CircuitBreakerOptions) {
    const { threshold, cooldownMs, now = () => performance.now(), onChange } =
      options;
    checkWholeNumbers({ threshold }, { min: 0 });
    if (!Number.isFinite(cooldownMs) || cooldownMs < 0) {
      throw new RangeError(`cooldownMs must be >= 0, got ${cooldownMs}`);
    }
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
    this.#onChange = onChange;
  }

  /** The state now (an open breaker turns half-open once cooled down). */
  get state(): BreakerState {
    if (this.#openedAt === undefined) return "closed";
    return this.retryAfterMs > 0 ? "open" : "half_open";
  }

  /** Milliseconds until a probe may go; 0 unless open. */
  get retryAfterMs(): number {
    if (this.#openedAt === undefined) return 0;
    return Math.max(0, this.#openedAt + this.#cooldownMs - this.#now());
  }

  /**
   * Whether a call may go now: always when closed, never when open, and
   * once (the probe) when half-open, until that call's outcome is recorded.
   * Every allowed call must be followed by one {@linkcode record}.
   */
  allow(): boolean {
    switch (this.state) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half_open":
        if (this.#probing) return false;
        this.#probing = true;
        return true;
    }
  }

  /** Records how an allowed call ended. */
  record(outcome: BreakerOutcome): void {
    const probe = this.#probing;
    if (outcome === "abandoned") {
      this.#probing = false;
      return;
    }
    if (outcome === "success") {
      this.#probing = false;
      this.#failures = 0;
      if (this.#openedAt !== undefined) {
        this.#openedAt = undefined;
        this.#onChange?.("closed");
      }
      return;
    }
    this.#failures++;
    // A failed probe reopens; so does the threshold while closed. Calls
    // that started before the breaker opened change nothing.
    const reopen = probe && this.state === "half_open";
    const trip = this.#openedAt === undefined && this.#threshold > 0 &&
      this.#failures >= this.#threshold;
    if (reopen || trip) {
      this.#probing = false;
      this.#openedAt = this.#now();
      this.#onChange?.("open");
    }
  }
}
