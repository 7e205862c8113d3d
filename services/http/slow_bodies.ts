/**
 * Request bodies being read in full before an answer (the writes' JSON),
 * so a server out of descriptors with no idle connection can end the one
 * arriving longest. Such a body is at most `WRITE_MAX_BYTES` (64 KiB),
 * which a client sends at once; one still arriving after
 * {@linkcode SLOW_BODY_RECLAIM_MS} is dripped. A slow-body attack
 * (`slowhttptest -B`, 600 POSTs of JSON under `ulimit -n 256`) held every
 * descriptor with connections that were neither idle nor stalled
 * answers, so nothing could be reclaimed and new clients waited (curl
 * timed out after 10 s) until the body timeout, `HEADER_TIMEOUT_MS`
 * (30 s) after each began.
 *
 * A shutdown waits for these bodies too ({@linkcode untilBodiesRead}):
 * its `shutdown()` cut them, and the write was answered 400 "Invalid JSON
 * body", blaming the client. Those still arriving when the grace runs out
 * are ended with {@linkcode BodyReadStopped} ({@linkcode stopReadingBodies}),
 * which their reader answers 503.
 *
 * @module
 */

import { oldestSince } from "./oldest_since.ts";

// Bodies being read, each with when it began. A Map keeps insertion
// order: the first entries began longest ago.
const reading = new Map<AbortController, number>();
// Who waits for the last body being read to end.
let whenNoneRead: PromiseWithResolvers<void> | undefined;

/** The reason the bodies being read are ended with by a shutdown. */
export class BodyReadStopped extends Error {
  constructor() {
    super("the service is shutting down");
    this.name = "BodyReadStopped";
  }
}

/**
 * How long a body must have been arriving before
 * {@linkcode giveUpSlowBodies} may end it: 64 KiB in less is 13 KB/s or
 * more.
 */
export const SLOW_BODY_RECLAIM_MS = 5_000;

/**
 * Counts a body being read until the returned function is called; its
 * `signal` aborts when {@linkcode giveUpSlowBodies} ends it.
 */
export function readingBody(): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  reading.set(controller, performance.now());
  return {
    signal: controller.signal,
    done: () => {
      reading.delete(controller);
      if (reading.size === 0) whenNoneRead?.resolve();
    },
  };
}

/** Resolves once no body is being read (at once when none is). */
export function untilBodiesRead(): Promise<void> {
  if (reading.size === 0) return Promise.resolve();
  whenNoneRead ??= Promise.withResolvers<void>();
  const waiting = whenNoneRead;
  return waiting.promise.finally(() => {
    if (whenNoneRead === waiting) whenNoneRead = undefined;
  });
}

/**
 * Ends every body being read with {@linkcode BodyReadStopped}: a shutdown
 * whose grace ran out. Returns how many there were.
 */
export function stopReadingBodies(): number {
  const count = reading.size;
  for (const controller of reading.keys()) {
    controller.abort(new BodyReadStopped());
  }
  return count;
}

/**
 * Ends up to `count` bodies arriving for at least `minAgeMs`, those begun
 * longest ago first (their reader answers 408 and the runtime closes the
 * connection, whose body did not all arrive); returns how many. For a
 * server out of descriptors, or at its connection cap, with no idle
 * connection left.
 */
export function giveUpSlowBodies(
  count: number,
  minAgeMs: number = SLOW_BODY_RECLAIM_MS,
): number {
  const ending = oldestSince(reading, count, minAgeMs);
  for (const controller of ending) {
    reading.delete(controller);
    controller.abort();
  }
  return ending.length;
}
