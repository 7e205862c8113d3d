/**
 * Which idle connections go first when the server needs room (at the
 * connection cap, or out of descriptors): those idle longest, as nginx
 * reuses its idle connections. Found when needed rather than kept in
 * order on every request: reordering a busy keep-alive connection per
 * request cost more than the rest of connection_set.ts.
 *
 * @module
 */

import { idleSince, type Tracked } from "./tracked.ts";

/**
 * Up to `count` of `connections` with no request in flight, idle since
 * `before` or earlier (see {@linkcode idleSince}), idle longest first.
 * One (a new connection at the cap) is a single pass, no sort.
 */
export function idleLongest(
  connections: Iterable<Tracked>,
  count: number,
  before: number,
): Tracked[] {
  if (count === 1) {
    const found = longestIdle(connections, before);
    return found === undefined ? [] : [found];
  }
  return [...connections]
    .filter((conn) => conn.active === 0 && idleSince(conn) <= before)
    // Two idle since the last sweep are alike (Infinity - Infinity).
    .sort((a, b) => (idleSince(a) - idleSince(b)) || 0)
    .slice(0, Math.max(0, count));
}

/** The connection idle longest, if any is idle since `before` or earlier. */
function longestIdle(
  connections: Iterable<Tracked>,
  before: number,
): Tracked | undefined {
  let found: Tracked | undefined;
  for (const conn of connections) {
    if (
      conn.active === 0 && idleSince(conn) <= before &&
      (found === undefined || idleSince(conn) < idleSince(found))
    ) {
      found = conn;
    }
  }
  return found;
}
