/**
 * Room made for new connections by the server of `http_server.ts`, at the
 * connection cap ({@linkcode roomAtCap}) and out of file descriptors
 * ({@linkcode freeDescriptors}, {@linkcode lowerCap}): the connections idle
 * longest go first, those accepted a moment ago last, and the answers and
 * write bodies their clients stalled in between.
 *
 * @module
 */

import { giveUpSlowBodies } from "../http/slow_bodies.ts";
import { giveUpStalled } from "../http/stall_timeout.ts";
import type { Logger } from "../ops/logger.ts";
import type { ConnectionCap } from "./connection_cap.ts";
import type { ConnectionSet } from "./connection_set.ts";
import type { ConnectionStats } from "./connection_stats.ts";

// Idle connections closed at once when out of descriptors (nginx frees 32).
const RECLAIM_BATCH = 32;

// Out of descriptors, a connection idle for less than this is not closed;
// at the connection cap, only when nothing else can go. The loop accepts
// again at once after a connection, and with the last descriptor taken
// that accept fails: the connection just accepted, its
// head not read yet, was then the only idle one and was closed (curl:
// "Empty reply from server"), new client after new client, while
// downloads read by nobody (`slowhttptest -X`) held the rest.
const FRESH_MS = 1_000;

/**
 * At the connection cap: closes the connection idle longest, if idle for
 * {@linkcode FRESH_MS} or more (accepted that long ago and silent, or kept
 * alive that long after an answer); with none such, the answer whose client has
 * taken nothing longest, if for 5 s or more (`giveUpStalled`; downloads read by
 * nobody filled the cap and every new client got 503 until
 * `DOWNLOAD_IDLE_TIMEOUT_MS`); only then one accepted a moment ago. Before a
 * stalled answer, that one went: its head not read yet, it was the only idle
 * connection, and a burst of clients each closed the one before it ("Empty
 * reply from server") while the stalled downloads stayed. One whose first
 * request has not been handled is turned out rather than closed
 * (`turned_out.ts`): in a burst, its request could be in the kernel's buffer
 * already, and was reset. Returns whether it made room.
 */
export function roomAtCap(
  connections: ConnectionSet,
  stats: ConnectionStats,
): boolean {
  if (connections.makeRoom(FRESH_MS)) return true;
  const stalled = giveUpStalled(1) || giveUpSlowBodies(1);
  stats.stalled += stalled;
  return stalled === 1 || connections.makeRoom();
}

/**
 * Out of descriptors: the cap comes down to the connections that hold
 * descriptors now, those being closed included (`stats.open`): counting
 * only those still served, every accept failing while the closes of the
 * connections made room for were under way lowered it again (193, 161,
 * 129, 97 ... under `ulimit -n 256`).
 */
export function lowerCap(
  cap: ConnectionCap,
  stats: ConnectionStats,
  logger: Logger,
): void {
  const before = cap.value;
  cap.exhausted(stats.open);
  if (cap.value === before) return;
  logger.warn("server.connection_cap_lowered", {
    cap: cap.value,
    open: stats.open,
  });
}

/**
 * Out of descriptors: closes up to {@linkcode RECLAIM_BATCH} connections
 * idle longest, those accepted a moment ago spared (see
 * {@linkcode FRESH_MS}), or with none such as many answers whose client has
 * taken nothing for a while (`giveUpStalled`); returns how many it closed.
 */
export function freeDescriptors(
  connections: ConnectionSet,
  stats: ConnectionStats,
): number {
  const reclaimed = connections.reclaimIdle(RECLAIM_BATCH, FRESH_MS);
  if (reclaimed !== 0) return reclaimed;
  const stalled = giveUpStalled(RECLAIM_BATCH) ||
    giveUpSlowBodies(RECLAIM_BATCH);
  stats.stalled += stalled;
  return stalled;
}
