/**
 * The connection cap in force: `MAX_CONNECTIONS`, or lower once `accept()`
 * has failed for want of file descriptors.
 *
 * Under `ulimit -n` below `MAX_CONNECTIONS` (a stock 1024 against the
 * default 10000) the cap was never reached: a flood of idle sockets filled
 * every descriptor, and each accept past that failed. The accept loop then
 * frees only connections idle for a second or more (`FRESH_MS` in
 * `http_server.ts`: a connection just accepted, its head not read yet, must
 * not go), backing off up to a second in between, so the kernel's backlog
 * of flood sockets drained at about one descriptor limit per second and a
 * client queued behind 3,000 of them waited 4-15 s (`ulimit -n 256`), where
 * with `MAX_CONNECTIONS=200` it waited 1.5 s at most: at the cap each new
 * connection makes room at once. Running out at `open` connections tells
 * what the process can hold, so from then on the cap is `open` less
 * {@linkcode CapOptions.headroom} descriptors, left for the files and
 * upstream sockets of the requests it serves. It is forgotten once the
 * server has neither failed an accept nor been at that cap for
 * {@linkcode CapOptions.forgetMs}, in case files, not connections, took
 * the descriptors that time.
 *
 * @module
 */

/** Options of {@linkcode ConnectionCap}. */
export interface CapOptions {
  /** Descriptors left free below the count that ran out. @default {32} */
  headroom?: number;
  /** Time after which a lowered cap no longer in use is forgotten, ms. @default {60000} */
  forgetMs?: number;
  /** Clock, ms. @default {performance.now} */
  now?: () => number;
}

/** The connection cap in force; see the module doc. */
export class ConnectionCap {
  readonly #max: number;
  readonly #headroom: number;
  readonly #forgetMs: number;
  readonly #now: () => number;
  #lowered = Infinity;
  /** When the lowered cap was last set or reached. */
  #usedAt = -Infinity;

  /** `max` is `MAX_CONNECTIONS`; throws `RangeError` on bad values. */
  constructor(max: number, options: CapOptions = {}) {
    const { headroom = 32, forgetMs = 60_000, now = () => performance.now() } =
      options;
    for (
      const [name, value] of [
        ["max", max],
        ["headroom", headroom],
        ["forgetMs", forgetMs],
      ] as const
    ) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`${name} must be a whole number >= 0: ${value}`);
      }
    }
    if (max < 1) throw new RangeError(`max must be at least 1: ${max}`);
    this.#max = max;
    this.#headroom = headroom;
    this.#forgetMs = forgetMs;
    this.#now = now;
  }

  /** Whether `open` connections are at the cap (a new one needs room). */
  reached(open: number): boolean {
    if (open >= this.#max) return true;
    if (open < this.#lowered) {
      if (
        this.#lowered !== Infinity &&
        this.#now() - this.#usedAt > this.#forgetMs
      ) {
        this.#lowered = Infinity;
      }
      return false;
    }
    this.#usedAt = this.#now();
    return true;
  }

  /** `accept()` failed for want of descriptors with `open` connections. */
  exhausted(open: number): void {
    this.#lowered = Math.max(
      1,
      Math.min(this.#lowered, this.#max, open - this.#headroom),
    );
    this.#usedAt = this.#now();
  }

  /** The cap in force now. */
  get value(): number {
    return Math.min(this.#max, this.#lowered);
  }
}
