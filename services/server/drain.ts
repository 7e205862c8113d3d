/**
 * How the server of `http_server.ts` stops taking work when told to drain:
 * the listener is closed once the connections the kernel queued are
 * taken, and the kept-alive connections are served a moment more (each
 * answer saying `Connection: close`) before the idle ones are closed, so
 * that a load balancer in front loses no request it sent.
 *
 * @module
 */

import type { ConnectionSet } from "./connection_set.ts";

// How often a drain looks whether idle connections are left.
const DRAIN_POLL_MS = 25;

/**
 * Closes the idle connections once none is left (each taken for a request
 * and closed after its answer) or after `ms`. A balancer sends a request
 * on a kept-alive connection at any moment: closed under it, the request
 * is lost, and nginx tries no non-idempotent one elsewhere (502). Left open, it is answered with
 * `Connection: close`; nginx takes the connections it used last first, so
 * those left after `ms` are ones it hardly uses.
 */
export async function closeIdle(
  connections: ConnectionSet,
  ms: number,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (connections.idle > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  connections.closeIdle();
}

// Before closing the listener, the accept loop takes what the kernel has
// queued: one turn of this long, then more while it still accepts, up to
// the cap (a steady stream of new connections never goes quiet).
const QUEUED_QUIET_MS = 20;
const QUEUED_MAX_MS = 500;

/**
 * Stops the accept loop and closes the listener; again, a no-op. Closing
 * a listener resets the connections the kernel completed but the process
 * had not accepted yet, their requests sent: nginx tries no POST of such
 * a connection elsewhere (502). A signal handled before the loop's next
 * turn found them all queued (a process busy, or stopped, for a moment),
 * so the loop takes them first, until `lastAccept()` is
 * {@linkcode QUEUED_QUIET_MS} old.
 */
export async function stopListening(
  listener: Deno.Listener,
  stopping: AbortController,
  accepting: Promise<unknown>,
  lastAccept: () => number,
): Promise<void> {
  const deadline = performance.now() + QUEUED_MAX_MS;
  if (!stopping.signal.aborted) {
    do {
      await new Promise((resolve) => setTimeout(resolve, QUEUED_QUIET_MS));
    } while (
      performance.now() - lastAccept() < QUEUED_QUIET_MS &&
      performance.now() < deadline
    );
  }
  stopping.abort();
  try {
    listener.close();
  } catch {
    // already closed
  }
  await accepting;
}
