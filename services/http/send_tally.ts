/**
 * What a streamed answer body (a stored file, a large answer from memory)
 * really handed to its connection, and how it ended. The access-log line
 * was written at the head with the length announced: a download cut at
 * shutdown (the grace ran out while `curl --limit-rate 1M` read a 200 MB
 * file: 12.5 MB received) or left by its client logged `"bytes":200000000`.
 * The body (services/http/stall_timeout.ts) counts a chunk once the
 * runtime asks for the next one, which it does only when the socket took
 * the last; the pipeline writes the line when the body ends. A chunk the
 * runtime held when the body ended is not counted, what the kernel's
 * socket buffers held is (they can still reach the client after a cut).
 *
 * The tally is found by the request (one `WeakMap` look-up per answer),
 * so the route need not hand it up. Bodies still being sent when the
 * process exits are ended by {@linkcode endOpenBodies}, or their lines
 * would never be written.
 *
 * @module
 */

/**
 * How a body ended: `sent` to its end, or cut: its `client` went away
 * (or reset the stream), it `stalled` (read nothing within the send
 * timeout), its `source` failed (the store), or the process's `shutdown`.
 */
export type BodyEnd = "sent" | "client" | "stalled" | "source" | "shutdown";

/** The count of one body, and who is told of its end. */
export class SendTally {
  /** Bytes the connection took so far. */
  bytes = 0;
  /** How the body ended, once it has. */
  end: BodyEnd | undefined = undefined;
  // The chunk handed to the runtime that the socket has not taken yet.
  #held = 0;
  #onEnd: ((tally: SendTally) => void) | undefined = undefined;
  #cut: (() => void) | undefined = undefined;
  readonly #length: number | undefined;

  /** `length`: the body's announced length (`Content-Length`), if known. */
  constructor(length?: number) {
    this.#length = length;
  }

  /** A chunk of `length` bytes handed to the runtime. */
  handed(length: number): void {
    this.#held = length;
  }

  /** The runtime asks for more: the socket took the chunk it held. */
  taken(): void {
    this.bytes += this.#held;
    this.#held = 0;
  }

  /**
   * The body ended `how`; only the first end counts. One whose last chunk
   * the runtime held was sent whole: the runtime stops at the announced
   * length and cancels the body rather than ask for its end (most full
   * downloads of a stored file were logged cut by the client).
   */
  ended(how: BodyEnd): void {
    if (this.end !== undefined) return;
    const whole = this.#length !== undefined &&
      this.bytes + this.#held >= this.#length;
    if (whole) this.taken();
    this.end = whole ? "sent" : how;
    open.delete(this);
    this.#onEnd?.(this);
  }

  /**
   * How the body is cut short at a shutdown: as when its client stalls,
   * errored and its connection closed.
   */
  cutBy(cut: () => void): void {
    this.#cut = cut;
  }

  /** Cuts the body short, as ended by the `shutdown`. */
  cut(): void {
    this.ended("shutdown");
    this.#cut?.();
  }

  /** Calls `listener` once the body ended (at once if it has). */
  whenEnded(listener: (tally: SendTally) => void): void {
    if (this.end !== undefined) listener(this);
    else this.#onEnd = listener;
  }
}

const byRequest = new WeakMap<Request, SendTally>();
// Bodies not ended yet, for the exit.
const open = new Set<SendTally>();

/**
 * A new tally for the body of the answer to `req`, of `length` bytes when
 * it is known.
 */
export function tallyFor(req: Request, length?: number): SendTally {
  const tally = new SendTally(length);
  byRequest.set(req, tally);
  open.add(tally);
  return tally;
}

/**
 * The tally of the streamed body of the answer to `req`, if it has one;
 * taken once (the answer is sent once).
 */
export function takeTally(req: Request): SendTally | undefined {
  const tally = byRequest.get(req);
  if (tally !== undefined) byRequest.delete(req);
  return tally;
}

/**
 * A tally whose body will not be sent after all (the answer failed on
 * the way and a problem goes out instead): forgotten, not waited for.
 */
export function dropTally(req: Request): void {
  const tally = takeTally(req);
  if (tally !== undefined) open.delete(tally);
}

/**
 * Ends every body still being sent as cut by the `shutdown`, so each one's
 * line is written with what it sent; the process exits next (`main.ts`),
 * which closes their connections once the kernel has sent what it holds.
 */
export function endOpenBodies(): void {
  for (const tally of [...open]) tally.ended("shutdown");
}

/**
 * Cuts every body still being sent, logged as cut by the `shutdown`:
 * under `deno serve`, which waits for every answer to be sent, a slow
 * download held the process past `SHUTDOWN_GRACE_MS` until its last byte.
 */
export function cutOpenBodies(): void {
  for (const tally of [...open]) tally.cut();
}

/** How many bodies are still being sent. */
export function openBodies(): number {
  return open.size;
}
