/**
 * A response body that gives up on a client that stops reading: once a
 * chunk is handed on, the runtime asks for the next one only when the
 * socket took the last (its buffers are small and bounded), so no request
 * for `timeoutMs` means the client read nothing for that long. The body
 * then errors, which closes the connection and releases what the body
 * held (a stored file's descriptor), as nginx's `send_timeout`.
 *
 * Out of descriptors, the server does not wait for that timeout: stalled
 * bodies count busy, so no idle connection is left to close, and their
 * sockets and files locked every new client out until it ran (60 s by
 * default; `slowhttptest -X` under `ulimit -n 256`). {@linkcode giveUpStalled}
 * ends those stalled longest at once.
 *
 * @module
 */

import { closeConnectionOf } from "./connection_close.ts";
import { oldestSince } from "./oldest_since.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { type BodyEnd, type SendTally, tallyFor } from "./send_tally.ts";

/** Options of {@linkcode withStallTimeout}. */
export interface StallTimeoutOptions {
  /** How long the client may read nothing, ms. */
  timeoutMs: number;
  /**
   * Called when the client has read nothing for `timeoutMs`, as the body
   * errors: over HTTP/2 the runtime does not notice the error while the
   * client's window is 0, so the caller closes the connection here.
   */
  onStall?: () => void;
  /**
   * What the body errors with when `source` fails (default: its own
   * error): the runtime reports a body's error without its request.
   */
  sourceFailure?: (error: unknown) => unknown;
  /** Told what the connection took and how the body ended. */
  tally?: SendTally;
}

// One error for every stalled body, its stack formatted now: Deno formats
// a body's error when it logs it, and formatting a stack while out of file
// descriptors (when stalled readers pile up) ends the process.
const STALLED = new Error("the client read nothing within the send timeout");
void STALLED.stack;
// The error of a body cut by a shutdown whose grace ran out (under `deno
// serve`, which prints it: the stall's message would mislead).
const SHUT_DOWN = new Error(
  "the service shut down while the body was being sent",
);
void SHUT_DOWN.stack;

/**
 * Whether `error` is the one a body given up on errors with: the runtime
 * hands it to the server's `onError` like any failure of an answer, but a
 * client that read nothing is the protection at work, not a fault here.
 */
export function isStallTimeout(error: unknown): boolean {
  return error === STALLED;
}

// Bodies waiting for the runtime to ask for their next chunk, each with
// its way to give up and when it began to wait. A Map keeps insertion
// order, and a body is taken out at each request and put back after its
// next chunk, so the first entries are those waiting longest.
const waiting = new Map<() => void, number>();

/**
 * How long a body must have waited for the runtime to ask for more before
 * {@linkcode giveUpStalled} may end it: a client taking a 64 KiB chunk in
 * less reads at 13 KB/s or more, a client reading nothing waits for ever.
 */
export const STALLED_RECLAIM_MS = 5_000;

/**
 * Ends up to `count` bodies whose client has taken nothing for at least
 * `minStallMs`, those waiting longest first, as their stall timeout would
 * (the body errors, its connection is closed, its file released); returns
 * how many. For a server out of descriptors with no idle connection left.
 */
export function giveUpStalled(
  count: number,
  minStallMs: number = STALLED_RECLAIM_MS,
): number {
  const ending = oldestSince(waiting, count, minStallMs);
  for (const giveUp of ending) giveUp();
  return ending.length;
}

/**
 * Where a body's chunks come from: a stream, or a function that gives the
 * next chunk at once (`undefined` at the end), for bytes already in memory
 * (a second stream and its reader per answer cost a cached answer more
 * than the rest of sending it).
 */
export type ChunkSource =
  | ReadableStream<Uint8Array>
  | (() => Uint8Array | undefined);

/** How `source`'s chunks are taken: a function, or a stream's reader. */
function pullsOf(source: ChunkSource): {
  next?: () => Uint8Array | undefined;
  reader?: ReadableStreamDefaultReader<Uint8Array>;
} {
  return typeof source === "function"
    ? { next: source }
    : { reader: source.getReader() };
}

/**
 * `source`, read one chunk per request of the runtime, erroring when no
 * request comes within `timeoutMs` of the last chunk.
 */
export function withStallTimeout(
  source: ChunkSource,
  options: StallTimeoutOptions,
): ReadableStream<Uint8Array> {
  const { timeoutMs, onStall, sourceFailure, tally } = options;
  checkWholeNumbers({ timeoutMs });
  const { next, reader } = pullsOf(source);
  // Set once the body ended (read to its end, cancelled, timed out): no
  // timer may be armed after that.
  let ended = false;
  let controller: ReadableStreamDefaultController<Uint8Array>;
  const end = (how: BodyEnd) => {
    ended = true;
    clock.end();
    tally?.ended(how);
  };
  const giveUp = (reason: Error = STALLED) => {
    end("stalled");
    controller.error(reason);
    reader?.cancel(reason).catch(() => {});
    onStall?.();
  };
  const clock = new StallClock(giveUp, timeoutMs);
  tally?.cutBy(() => giveUp(SHUT_DOWN));
  const handOn = (value: Uint8Array | undefined) => {
    if (value === undefined) {
      end("sent");
      return controller.close();
    }
    tally?.handed(value.byteLength);
    controller.enqueue(value);
    // Deno.serve writes the chunk from inside enqueue and, the connection
    // gone, cancels this stream there: no timer may outlive the body.
    if (!ended) clock.start();
  };
  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      clock.stop();
      tally?.taken();
      if (next !== undefined) return handOn(next());
      return reader!.read().then(({ value }) => {
        // Cancelled while the read was under way: nothing to hand on.
        if (!ended) handOn(value);
      }, (error: unknown) => {
        end("source");
        throw sourceFailure ? sourceFailure(error) : error;
      });
    },
    cancel(reason) {
      end("client");
      return reader?.cancel(reason);
    },
    // Nothing read ahead: a request for a chunk is the client's progress.
  }, { highWaterMark: 0 });
}

/**
 * One body's stall clock, running from a chunk handed on to the runtime's
 * next request for more. One timer a body, not one a chunk (a download of
 * 64 KiB chunks armed and cleared a timer per chunk: ~5 % of the main
 * thread under a flood of slow readers): armed at the first chunk; when it
 * fires it gives up, waits out what is left since the last chunk, or, the
 * body not waiting, is dropped until the next chunk.
 */
class StallClock {
  readonly #giveUp: () => void;
  readonly #timeoutMs: number;
  #timer: number | undefined;
  /** When the body began to wait, while it waits. */
  #since: number | undefined;

  constructor(giveUp: () => void, timeoutMs: number) {
    this.#giveUp = giveUp;
    this.#timeoutMs = timeoutMs;
  }

  /** A chunk was handed on: the body waits, entered among those waiting. */
  start(): void {
    const now = performance.now();
    this.#since = now;
    waiting.set(this.#giveUp, now);
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
  }

  /** The runtime asked for more: the body no longer waits. */
  stop(): void {
    this.#since = undefined;
    waiting.delete(this.#giveUp);
  }

  /** The body ended: no timer outlives it. */
  end(): void {
    this.stop();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, ms) as unknown as number;
    // A stalled client must not hold the process open at exit.
    Deno.unrefTimer(this.#timer);
  }

  #fire = (): void => {
    this.#timer = undefined;
    if (this.#since === undefined) return;
    const left = this.#since + this.#timeoutMs - performance.now();
    if (left <= 0) this.#giveUp();
    else this.#arm(left);
  };
}

/** Options of {@linkcode withSendTimeout}. */
export interface SendTimeoutOptions {
  /** The request answered: its connection is closed on a stall. */
  req: Request;
  /** How long the client may read nothing, ms. */
  timeoutMs: number;
  /** See {@linkcode StallTimeoutOptions.sourceFailure}. */
  sourceFailure?: (error: unknown) => unknown;
  /** The body's announced length (`Content-Length`), for its tally. */
  length?: number;
}

/**
 * `source` as the body of the answer to `req`, under
 * {@linkcode withStallTimeout}, closing `req`'s connection when its client
 * stalls (services/http/connection_close.ts): over HTTP/2 the body's error
 * alone left the stream open while the client's window was 0. What the
 * connection took is tallied for `req`'s log line (send_tally.ts).
 */
export function withSendTimeout(
  source: ChunkSource,
  { req, timeoutMs, sourceFailure, length }: SendTimeoutOptions,
): ReadableStream<Uint8Array> {
  return withStallTimeout(source, {
    timeoutMs,
    ...(sourceFailure ? { sourceFailure } : {}),
    onStall: () => closeConnectionOf(req),
    tally: tallyFor(req, length),
  });
}
