/**
 * The two-tier {@linkcode CacheStore}: the in-process LRU in front (hits at
 * memory speed), Redis behind it, shared by every instance. A read that
 * misses the front (or finds it past freshness) asks Redis and keeps what it
 * finds in front; a write goes to both. An entry expires in Redis when it
 * can no longer be served even stale (the `retainMs` the policy gives).
 * Redis failing or slow is a miss, never an error. A renewal (the upstream
 * answered 304) rewrites only the entry's header in Redis, in a script, so
 * the body crosses the network neither way; an instance whose front entry
 * went stale reads only the header when the body in Redis is still the one
 * it holds (same ETag), so another instance's renewal costs it no body
 * either.
 *
 * Times cross Redis as durations, never as one instance's clock read by
 * another's (`shared_times.ts`).
 *
 * Memory is trusted only while this instance hears the drops other
 * instances announce (its subscriber is subscribed): otherwise a front
 * entry is served after Redis confirms it (the writer's `DEL` removed it
 * there), or as it is when Redis cannot answer at all. An entry Redis
 * cannot vouch for (gone from it, or demoted when drops may have been
 * missed) is `unconfirmed`: loaded again before it is served, kept for
 * stale-if-error.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Logger } from "../ops/logger.ts";
import { cacheNow } from "./clock.ts";
import { encodeEntry, encodeHeader } from "./entry_codec.ts";
import type { Dropped, KeyRule } from "./invalidation.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import { SharedDrops } from "./shared_drops.ts";
import {
  countTrip,
  type SharedRead,
  sharedRead,
  sharedWrite,
} from "./shared_times.ts";
import type { CacheEntry, CacheStore } from "./store.ts";

// Swaps the header of the entry in KEYS[1] for ARGV[1] when its body is
// still the one renewed (its etag is ARGV[2]), keeping the body in place.
// 1: renewed; 0: no entry (it expired); -1: another body is there now.
const RENEW = `local value = redis.call("GET", KEYS[1])
if not value then return 0 end
local length = struct.unpack(">I4", value)
local ok, header = pcall(cjson.decode, string.sub(value, 5, 4 + length))
if not ok or type(header) ~= "table" or header.etag ~= ARGV[2] then
  return -1
end
redis.call("SET", KEYS[1],
  struct.pack(">I4", #ARGV[1]) .. ARGV[1] .. string.sub(value, 5 + length),
  "PX", ARGV[3])
return 1`;

// The entry in KEYS[1]: only its header when its etag is ARGV[1] (the
// caller holds that body already), else all of it; nil when there is none.
// What #readSince gives when Redis did not answer.
const UNREACHABLE = Symbol("unreachable");

// With it, the time it has left in Redis (PTTL, Redis's own clock): what
// its age is read from (see SharedRead).
const READ_SINCE = `local value = redis.call("GET", KEYS[1])
if not value then return false end
local left = redis.call("PTTL", KEYS[1])
local length = struct.unpack(">I4", value)
local ok, header = pcall(cjson.decode, string.sub(value, 5, 4 + length))
if ok and type(header) == "table" and header.etag == ARGV[1] then
  return {string.sub(value, 1, 4 + length), left}
end
return {value, left}`;

/** READ_SINCE's ARGV[1] when no body is held: no ETag of ours is empty. */
const NO_ETAG = "";

/** Options of {@linkcode TwoTierStore}. */
export interface TwoTierStoreOptions {
  /** The in-process tier. */
  memory: CacheStore;
  /**
   * The Redis connections, shared with the upload relay: their owner
   * closes them, not the store.
   */
  link: RedisLink;
  /**
   * Freshness of an entry, ms: a front entry older than this is checked
   * against Redis, where another instance may have stored a newer one.
   */
  freshMs: number;
  /** Prefix of the Redis keys. @default {"async-api:cache:"} */
  prefix?: string;
  /** Clock: monotonic ms (see clock.ts), for tests. @default {cacheNow} */
  now?: () => number;
  /** Logs a drop that could not reach Redis. */
  logger?: Logger;
}

/** The in-process LRU in front of Redis. */
export class TwoTierStore implements CacheStore {
  readonly #memory: CacheStore;
  readonly #link: RedisLink;
  readonly #freshMs: number;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #drops: SharedDrops;

  constructor(options: TwoTierStoreOptions) {
    const {
      memory,
      link,
      freshMs,
      prefix = "async-api:cache:",
      now = cacheNow,
      logger,
    } = options;
    if (!Number.isFinite(freshMs) || freshMs < 0) {
      throw new RangeError(`freshMs must be >= 0: ${freshMs}`);
    }
    this.#memory = memory;
    this.#link = link;
    this.#freshMs = freshMs;
    this.#prefix = prefix;
    this.#now = now;
    this.#drops = new SharedDrops({
      link,
      memory,
      prefix,
      now,
      ...(logger ? { logger } : {}),
    });
  }

  /** The Redis connections. */
  get link(): RedisLink {
    return this.#link;
  }

  /** Counts of the shared drops, for metrics. */
  dropStats(): { resyncs: number; unshared: number; pending: number } {
    return this.#drops.stats();
  }

  /**
   * The front entry while fresh and this instance hears other instances'
   * drops: as `get` answers it, without Redis. One field read more than a
   * plain memory hit; `now` (the cache's clock) is the policy's read.
   */
  peek(key: string, now: number = this.#now()): CacheEntry | undefined {
    if (!this.#link.listening) return undefined;
    const front = this.#memory.peek?.(key);
    return front && front.unconfirmed !== true &&
        now - front.storedAt < this.#freshMs
      ? front
      : undefined;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const front = await this.#memory.get(key);
    if (!front) return await this.getShared(key);
    if (!this.#link.listening) return await this.#confirmed(key, front);
    if (front.unconfirmed) return await this.#reconfirmed(key, front);
    if (this.#now() - front.storedAt < this.#freshMs) return front;
    const shared = await this.#sharedSince(key, front);
    return shared && shared.storedAt > front.storedAt ? shared : front;
  }

  /**
   * Redis's entry under `key` (only its header when its ETag is `etag`:
   * the caller holds that body) on this instance's clock, `undefined` when
   * there is none, {@linkcode UNREACHABLE} when Redis did not answer.
   */
  async #read(
    key: string,
    etag: string,
  ): Promise<SharedRead | undefined | typeof UNREACHABLE> {
    const sent = this.#now();
    let reply: unknown;
    try {
      reply = await this.#link.call((redis) =>
        redis.eval(READ_SINCE, {
          keys: [this.#prefix + key],
          arguments: [etag],
        })
      );
    } catch {
      return UNREACHABLE;
    }
    if (!Array.isArray(reply)) return undefined;
    const [bytes, left] = reply;
    return bytes instanceof Uint8Array && typeof left === "number"
      ? sharedRead(bytes, left, sent)
      : undefined;
  }

  /**
   * `front` as Redis confirms it while drops may go unheard: gone from
   * Redis (a write's `DEL`, or a Redis restarted empty) it is unconfirmed,
   * loaded again before it is served and kept for stale-if-error; another
   * body there replaces it; with Redis unreachable, nobody can announce a
   * drop, and `front` stands.
   */
  async #confirmed(key: string, front: CacheEntry): Promise<CacheEntry> {
    const read = await this.#read(key, front.etag);
    if (read === UNREACHABLE) return front;
    if (!read) {
      return front.unconfirmed ? front : { ...front, unconfirmed: true };
    }
    if (read.entry.etag !== front.etag) return read.entry;
    // The same ETag is the same body; the newer header wins.
    return read.entry.storedAt > front.storedAt
      ? { ...read.entry, body: front.body }
      : front;
  }

  /**
   * An unconfirmed `front` (demoted when drops may have been missed) as
   * Redis vouches for it: the same body there (the writer's `DEL` would
   * have removed it) or another one is the entry, kept in front; nothing
   * there, or no answer, leaves it unconfirmed.
   */
  async #reconfirmed(key: string, front: CacheEntry): Promise<CacheEntry> {
    const epoch = this.#drops.epoch;
    const read = await this.#read(key, front.etag);
    if (!read || read === UNREACHABLE) return front;
    const same = read.entry.etag === front.etag;
    // The same ETag is the same body; the newer header wins.
    const storedAt = Math.max(read.entry.storedAt, front.storedAt);
    const entry = same
      ? { ...read.entry, body: front.body, storedAt }
      : read.entry;
    if (this.#drops.epoch !== epoch) return entry;
    await (same
      ? this.#memory.renew(key, entry, read.retainMs)
      : this.#memory.set(key, entry, read.retainMs));
    return entry;
  }

  /**
   * The entry in Redis when it is newer than `front`, kept in front: a
   * renewal of the same body (same ETag) arrives as its header only and
   * keeps `front`'s body, with no copy.
   */
  async #sharedSince(
    key: string,
    front: CacheEntry,
  ): Promise<CacheEntry | undefined> {
    const epoch = this.#drops.epoch;
    const read = await this.#read(key, front.etag);
    if (!read || read === UNREACHABLE) return undefined;
    if (read.entry.storedAt <= front.storedAt) return undefined;
    // Our ETag is the body's digest: the same ETag is the same body.
    const same = read.entry.etag === front.etag;
    const entry = same ? { ...read.entry, body: front.body } : read.entry;
    // Dropped here while it was read: what it read may be what went.
    if (this.#drops.epoch !== epoch) return entry;
    await (same
      ? this.#memory.renew(key, entry, read.retainMs)
      : this.#memory.set(key, entry, read.retainMs));
    return entry;
  }

  /**
   * The entry in Redis, kept in front too; `undefined` when Redis has none,
   * is down or slow.
   */
  async getShared(key: string): Promise<CacheEntry | undefined> {
    const epoch = this.#drops.epoch;
    const read = await this.#read(key, NO_ETAG);
    if (!read || read === UNREACHABLE) return undefined;
    // Dropped here while it was read (a drop announced, a resubscription):
    // answered, but not kept, since it may be what the drop removed.
    if (this.#drops.epoch === epoch) {
      await this.#memory.set(key, read.entry, read.retainMs);
    }
    return read.entry;
  }

  /** Kept when either tier kept it (the front may refuse a large body). */
  async set(
    key: string,
    entry: CacheEntry,
    retainMs: number,
  ): Promise<boolean> {
    const front = await this.#memory.set(key, entry, retainMs);
    return await this.#setShared(key, entry, retainMs) || front;
  }

  async renew(
    key: string,
    entry: CacheEntry,
    retainMs: number,
  ): Promise<boolean> {
    const front = await this.#memory.renew(key, entry, retainMs);
    const sentAt = this.#now();
    const write = sharedWrite(entry, retainMs, sentAt);
    if (!write) return front;
    const head = encodeHeader(write.shared);
    let renewed: unknown;
    try {
      renewed = await this.#link.write((redis) =>
        redis.eval(RENEW, {
          keys: [this.#prefix + key],
          arguments: [
            Buffer.from(head.buffer, head.byteOffset, head.byteLength),
            entry.etag,
            String(write.pxMs),
          ],
        })
      );
    } catch {
      return front; // Redis's copy expires by itself.
    }
    // Gone from Redis meanwhile: the whole entry goes back (the upstream
    // just said it is current). Another body there is newer: leave it.
    if (renewed === 0) {
      return await this.#setShared(key, entry, retainMs) || front;
    }
    if (renewed !== 1) return front;
    await countTrip(this.#link, this.#prefix + key, this.#now() - sentAt);
    return true;
  }

  /** Sets the entry in Redis; whether Redis took it. */
  async #setShared(
    key: string,
    entry: CacheEntry,
    retainMs: number,
  ): Promise<boolean> {
    const sentAt = this.#now();
    const write = sharedWrite(entry, retainMs, sentAt);
    if (!write) return false;
    const bytes = encodeEntry(write.shared);
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Before the SET: a drop arriving while it is in flight finds it.
    this.#drops.stored(key);
    try {
      // Skipped while Redis refuses writes for memory (`RedisLink.write`).
      await this.#link.write((redis) =>
        redis.set(this.#prefix + key, value, { PX: write.pxMs })
      );
    } catch {
      // The front tier may have it; other instances fetch their own.
      return false;
    }
    await countTrip(this.#link, this.#prefix + key, this.#now() - sentAt);
    return true;
  }

  async delete(key: string): Promise<void> {
    await this.#memory.delete(key);
    try {
      await this.#link.call((redis) => redis.del(this.#prefix + key));
    } catch {
      // It expires in Redis by itself.
    }
  }

  /** Drops here, in Redis, and (announced) in every instance's memory. */
  async drop(rule: KeyRule): Promise<Dropped> {
    const local = await this.#memory.drop(rule);
    const shared = await this.#drops.drop(rule);
    const keys = [...new Set([...local.keys, ...shared.keys])];
    return { keys, scope: shared.scope };
  }

  watchDrops(listener: (rule: KeyRule) => void): void {
    this.#drops.watch(listener);
  }

  stats(): { entries: number; bytes: number; evictions: number } {
    return this.#memory.stats();
  }

  async close(): Promise<void> {
    this.#drops.close();
    await this.#memory.close?.();
  }
}
