/**
 * A connection turned out at the connection cap to make room for a new
 * one before its first request was handled (`ConnectionSet.makeRoom`):
 * accepted a moment ago, in a burst, it may have that request on its way,
 * its head in the kernel's buffer, and closing it at once reset the
 * request (curl: "Connection reset by peer", "Empty reply from server").
 * It stops counting against the cap at once but stays open up to
 * {@linkcode TURNED_OUT_MS}: a request that comes is answered as one over
 * the cap (503, `Retry-After`, `Connection: close`); with none it is
 * closed.
 *
 * @module
 */

import { lingerThenClose } from "./answer_close.ts";
import type { ConnectionStats } from "./connection_stats.ts";
import { overCapAnswer } from "./over_cap.ts";
import type { Tracked } from "./tracked.ts";

// As long as a connection turned away over the cap is given for its
// request (`turnAway`).
const TURNED_OUT_MS = 1_000;

/** Turns `tracked` out: `close` closes it unless its request comes first. */
export function turnOut(tracked: Tracked, close: () => void): void {
  tracked.turnedOut = setTimeout(close, TURNED_OUT_MS) as unknown as number;
  Deno.unrefTimer(tracked.turnedOut);
}

/**
 * The answer to the first request of `tracked`, turned out: the 503 over
 * the cap, counted as such; `close` closes the connection if it is still
 * open {@linkcode lingerThenClose}'s time after it is sent.
 */
export function answerTurnedOut(
  tracked: Tracked,
  info: Deno.ServeHandlerInfo,
  stats: ConnectionStats,
  close: () => void,
): Response {
  clearTimeout(tracked.turnedOut);
  stats.rejected++;
  lingerThenClose(tracked, info, close);
  return overCapAnswer();
}
