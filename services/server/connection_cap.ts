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
 * upstream sockets of the requests it serves.
 *
 * Files, not connections, may have taken the descriptors that time: one
 * HTTP/2 connection holds up to `MAX_STREAMS_PER_CONNECTION` downloads, so
 * 15 connections ran `ulimit -n 256` out and made the cap 1. The cap is
 * therefore never below the headroom (closing connections cannot free what
 * files hold), and it is forgotten {@linkcode CapOptions.forgetMs} after
 * the last shortage, reached or not: kept while reached, as it was, steady
 * traffic kept a cap of 1 long after those downloads ended, and 10 clients
 * at once closed each other's connections (143 of 200 requests without an
 * answer). A flood still at the descriptor limit after that fails an
 * accept again within a few connections, which sets the cap again.
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of {@linkcode ConnectionCap}. */
export interface CapOptions {
  /** Descriptors left free below the count that ran out. @default {32} */
  headroom?: number;
  /**
   * Time after the last shortage when a lowered cap is forgotten, ms.
   * @default {10000}
   */
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
  /** When an accept last failed for want of descriptors. */
  #shortAt = -Infinity;

  /** `max` is `MAX_CONNECTIONS`; throws `RangeError` on bad values. */
  constructor(max: number, options: CapOptions = {}) {
    const { headroom = 32, forgetMs = 10_000, now = () => performance.now() } =
      options;
    checkWholeNumbers({ max });
    checkWholeNumbers({ headroom, forgetMs }, { min: 0 });
    this.#max = max;
    this.#headroom = headroom;
    this.#forgetMs = forgetMs;
    this.#now = now;
  }

  /** Whether `open` connections are at the cap (a new one needs room). */
  reached(open: number): boolean {
    return open >= this.value;
  }

  /**
   * `accept()` failed for want of descriptors with `open` connections:
   * the cap comes down to `open` less the headroom, never below the
   * headroom (nor 1).
   */
  exhausted(open: number): void {
    this.#lowered = Math.max(
      1,
      this.#headroom,
      Math.min(this.value, open - this.#headroom),
    );
    this.#shortAt = this.#now();
  }

  /** The cap in force now. */
  get value(): number {
    if (
      this.#lowered !== Infinity &&
      this.#now() - this.#shortAt > this.#forgetMs
    ) {
      this.#lowered = Infinity;
    }
    return Math.min(this.#max, this.#lowered);
  }
}
