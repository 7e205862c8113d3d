/**
 * An entry's times as they cross Redis between instances whose clocks
 * differ. No instant of one instance's clock means anything to another
 * (each counts on its own monotonic clock, `clock.ts`; their wall clocks
 * differ by seconds to minutes, and step), so an entry goes to Redis with
 * what is left of its retention as the key's expiry (`PX`), and comes back
 * as old as Redis's `PTTL` says: the retention it was stored with, less
 * what is left. Two durations, each measured by one clock (the storer's,
 * then Redis's), never one host's time against another's. Before, the
 * reader compared the storer's wall-clock `storedAt` with its own: with a
 * clock 10 min ahead every entry another instance stored was 10 min old
 * (stale at once, reloaded from the upstream), and with one 10 min behind
 * an entry was fresh, `Age` 0, for 10 min more than the TTL.
 *
 * The header still carries the storer's wall-clock `storedAt` and
 * `retainUntil` (their difference is the retention), so an instance of
 * the previous release reads what this one writes during a rolling
 * deploy, and this one reads its entries.
 *
 * @module
 */

import type { RedisLink } from "../redis/redis_link.ts";
import { cacheNow, wallTimeOf } from "./clock.ts";
import { decodeEntry, type SharedEntry } from "./entry_codec.ts";
import type { CacheEntry } from "./store.ts";

/** An entry read from Redis, its `storedAt` on this instance's clock. */
export interface SharedRead {
  entry: CacheEntry;
  /** How long Redis keeps it still, ms. */
  retainMs: number;
}

/** `entry`, retained `retainMs` from its `storedAt`, as Redis takes it. */
export interface SharedWrite {
  /** What to encode: the times on the wall clock. */
  shared: SharedEntry;
  /** The key's expiry (`PX`): what is left of the retention; >= 1. */
  pxMs: number;
}

/**
 * `entry` (its `storedAt` on this instance's clock, `now` on it) for
 * Redis, or `undefined` when nothing is left of its retention.
 */
export function sharedWrite(
  entry: CacheEntry,
  retainMs: number,
  now: number = cacheNow(),
): SharedWrite | undefined {
  const left = Math.ceil(retainMs - Math.max(0, now - entry.storedAt));
  if (left <= 0) return undefined;
  const storedAt = wallTimeOf(entry.storedAt, now);
  return {
    shared: { entry: { ...entry, storedAt }, retainUntil: storedAt + retainMs },
    pxMs: left,
  };
}

/**
 * A value read from Redis with its `PTTL` (`left`), as an entry on this
 * instance's clock, the command sent at `sent` on it; `undefined` when it
 * is none or has no time left. Counted from before the command was sent,
 * it errs older by the command's delay, as RFC 9111 4.2.3's
 * `response_delay` does.
 */
export function sharedRead(
  bytes: Uint8Array,
  left: number,
  sent: number,
): SharedRead | undefined {
  if (!(left > 0)) return undefined;
  const decoded = decodeEntry(bytes);
  if (!decoded) return undefined;
  const { entry, retainUntil } = decoded;
  const ageMs = Math.max(0, retainUntil - entry.storedAt - left);
  entry.storedAt = sent - ageMs;
  return { entry, retainMs: left };
}

// Shortens the expiry of KEYS[1] by ARGV[1] ms, deleting it when no more
// is left: in one script, so the PTTL read and the expiry set are one
// instant of Redis's clock, and no trip comes between them.
const SHORTEN = `local left = redis.call("PTTL", KEYS[1])
if left < 0 then return 0 end
local by = tonumber(ARGV[1])
if left > by then
  redis.call("PEXPIRE", KEYS[1], left - by)
else
  redis.call("DEL", KEYS[1])
end
return 1`;

/**
 * Counts a write's trip (`tripMs`: from the `now` its `PX` was reckoned
 * at to its reply) in the expiry Redis gave `key`. Redis starts a `PX`
 * when the command arrives, up to the trip after the writer counted what
 * was left: without this, every other instance read the entry that much
 * younger than it was (fresh past its TTL after a stalled SET), where a
 * read errs older. Counted whole, it errs older by up to the trip, as a
 * read does. A trip under a millisecond is within `PX`'s rounding and
 * costs no command. Another instance's SET in between is shortened too:
 * older by the trip, never younger.
 */
export async function countTrip(
  link: RedisLink,
  key: string,
  tripMs: number,
): Promise<void> {
  if (!(tripMs >= 1)) return;
  try {
    await link.call((redis) =>
      redis.eval(SHORTEN, {
        keys: [key],
        arguments: [String(Math.ceil(tripMs))],
      })
    );
  } catch {
    // Unanswered: the entry reads up to the trip younger until it expires.
  }
}
