/**
 * A response body that gives up on a client that stops reading: once a
 * chunk is handed on, the runtime asks for the next one only when the
 * socket took the last (its buffers are small and bounded), so no request
 * for `timeoutMs` means the client read nothing for that long. The body
 * then errors, which closes the connection and releases what the body
 * held (a stored file's descriptor), as nginx's `send_timeout`.
 *
 * @module
 */

import { closeConnectionOf } from "./connection_close.ts";

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
}

// One error for every stalled body, its stack formatted now: Deno formats
// a body's error when it logs it, and formatting a stack while out of file
// descriptors (when stalled readers pile up) ends the process.
const STALLED = new Error("the client read nothing within the send timeout");
void STALLED.stack;

/**
 * Where a body's chunks come from: a stream, or a function that gives the
 * next chunk at once (`undefined` at the end), for bytes already in memory
 * (a second stream and its reader per answer cost a cached answer more
 * than the rest of sending it).
 */
export type ChunkSource =
  | ReadableStream<Uint8Array>
  | (() => Uint8Array | undefined);

/**
 * `source`, read one chunk per request of the runtime, erroring when no
 * request comes within `timeoutMs` of the last chunk.
 */
export function withStallTimeout(
  source: ChunkSource,
  options: StallTimeoutOptions,
): ReadableStream<Uint8Array> {
  const { timeoutMs, onStall } = options;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new RangeError(`timeoutMs must be a positive integer: ${timeoutMs}`);
  }
  const next = typeof source === "function" ? source : undefined;
  const reader = next === undefined
    ? (source as ReadableStream<Uint8Array>).getReader()
    : undefined;
  let timer: number | undefined;
  // Set once the body ended (read to its end, cancelled, timed out): no
  // timer may be armed after that.
  let ended = false;
  const handOn = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    value: Uint8Array | undefined,
  ) => {
    if (value === undefined) {
      ended = true;
      return controller.close();
    }
    controller.enqueue(value);
    // Deno.serve writes the chunk from inside enqueue and, when it finds
    // the connection gone, cancels this stream right there: a timer armed
    // after that would outlive the body.
    if (ended) return;
    timer = setTimeout(() => {
      ended = true;
      controller.error(STALLED);
      reader?.cancel(STALLED).catch(() => {});
      onStall?.();
    }, timeoutMs) as unknown as number;
    // A stalled client must not hold the process open at exit.
    Deno.unrefTimer(timer);
  };
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      clearTimeout(timer);
      if (next !== undefined) return handOn(controller, next());
      return reader!.read().then(({ value }) => {
        // Cancelled while the read was under way: nothing to hand on.
        if (!ended) handOn(controller, value);
      });
    },
    cancel(reason) {
      ended = true;
      clearTimeout(timer);
      return reader?.cancel(reason);
    },
    // Nothing read ahead: a request for a chunk is the client's progress.
  }, { highWaterMark: 0 });
}

/** Options of {@linkcode withSendTimeout}. */
export interface SendTimeoutOptions {
  /** The request answered: its connection is closed on a stall. */
  req: Request;
  /** How long the client may read nothing, ms. */
  timeoutMs: number;
}

/**
 * `source` as the body of the answer to `req`, under
 * {@linkcode withStallTimeout}, closing `req`'s connection when its client
 * stalls (services/http/connection_close.ts): over HTTP/2 the body's error
 * alone left the stream open while the client's window was 0.
 */
export function withSendTimeout(
  source: ChunkSource,
  { req, timeoutMs }: SendTimeoutOptions,
): ReadableStream<Uint8Array> {
  return withStallTimeout(source, {
    timeoutMs,
    onStall: () => closeConnectionOf(req),
  });
}
