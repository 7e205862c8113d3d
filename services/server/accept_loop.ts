/**
 * The server's accept loop: hands each accepted TCP connection on, turns
 * away those over the connection cap with a canned 503, and when
 * `accept()` fails (out of file descriptors: `EMFILE`/`ENFILE`) first has
 * idle connections closed to free descriptors, else waits, 50 ms doubling
 * up to 1 s, and tries again, where `Deno.serve`'s loop rejects and ends
 * the process.
 *
 * @module
 */

import { outOfDescriptors } from "../ops/descriptors.ts";
import type { Logger } from "../ops/logger.ts";
import { OVER_CAP } from "./over_cap.ts";

/** Options of {@linkcode acceptLoop}. */
export interface AcceptLoopOptions {
  /** Where a failing `accept()` is reported (at most once in 10 s). */
  logger: Logger;
  /** Aborting it ends the loop. */
  signal: AbortSignal;
  /** Takes each accepted connection. */
  onConnection: (conn: Deno.TcpConn) => void;
  /** Called each time `accept()` fails (the loop then waits). */
  onBackoff: () => void;
  /**
   * Called when `accept()` fails for want of descriptors: closes idle
   * connections to free some, and returns how many it closed.
   */
  onExhausted: () => number;
}

// After idle connections were closed to free descriptors: time for the
// runtime to release them before accepting again.
const RECLAIM_WAIT_MS = 5;

/** Accepts until `signal` aborts; frees or waits for fds when out of them. */
export async function acceptLoop(
  listener: Deno.TcpListener,
  options: AcceptLoopOptions,
): Promise<void> {
  const { signal, onConnection, onBackoff, onExhausted } = options;
  const warn = throttledWarning(options.logger);
  let backoffMs = 0;
  // Whether the last accept_failed line was written since the loop last
  // accepted again: accepting_again is said only after it, so both are
  // throttled alike (an idle-socket flood under `ulimit -n 256` failed and
  // recovered 511 times in 30 s, each recovery a line, the failures 4).
  let told = false;
  while (!signal.aborted) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (signal.aborted || error instanceof Deno.errors.BadResource) return;
      onBackoff();
      const exhausted = outOfDescriptors(error);
      const reclaimed = exhausted ? onExhausted() : 0;
      if (reclaimed === 0) {
        backoffMs = backoffMs === 0 ? 50 : Math.min(1000, backoffMs * 2);
      }
      const waitMs = reclaimed > 0 ? RECLAIM_WAIT_MS : backoffMs;
      told = warn(error, {
        outOfDescriptors: exhausted,
        reclaimed,
        retryInMs: waitMs,
      }) || told;
      await sleep(waitMs, signal);
      continue;
    }
    if (backoffMs !== 0) {
      if (told) options.logger.info("server.accepting_again", {});
      backoffMs = 0;
      told = false;
    }
    onConnection(conn);
  }
}

// A flood at the descriptor limit fails an accept every few connections:
// say so once in this long, not each time.
const WARN_EVERY_MS = 10_000;

/**
 * Logs `server.accept_failed` at most once per {@linkcode WARN_EVERY_MS};
 * the function returned says whether it did.
 */
function throttledWarning(logger: Logger) {
  let warnedAt = -Infinity;
  return (error: unknown, fields: Record<string, unknown>): boolean => {
    const now = performance.now();
    if (now - warnedAt < WARN_EVERY_MS) return false;
    warnedAt = now;
    // A plain string: formatting the error object itself while out of
    // descriptors has crashed the runtime.
    logger.warn("server.accept_failed", {
      detail: String((error as { message?: unknown })?.message ?? error),
      ...fields,
    });
    return true;
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Answers a connection over the cap with the canned 503 once its request
 * starts to arrive (a response before the request confuses clients), then
 * closes it after the client's end or within a second in all, so the answer
 * is read rather than lost to a reset.
 */
export function turnAway(conn: Deno.TcpConn): void {
  const linger = AbortSignal.timeout(1000);
  const close = () => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  linger.addEventListener("abort", close, { once: true });
  (async () => {
    const scratch = new Uint8Array(1024);
    if (await conn.read(scratch) === null) return;
    await conn.write(OVER_CAP);
    await conn.closeWrite();
    while (!linger.aborted && await conn.read(scratch) !== null) {
      // discard what the client still sends
    }
  })().catch(() => {}).finally(close);
}
