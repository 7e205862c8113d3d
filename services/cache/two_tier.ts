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
import { decodeEntry, encodeEntry, encodeHeader } from "./entry_codec.ts";
import type { Dropped, KeyRule } from "./invalidation.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import { SharedDrops } from "./shared_drops.ts";
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

const READ_SINCE = `local value = redis.call("GET", KEYS[1])
if not value then return false end
local length = struct.unpack(">I4", value)
local ok, header = pcall(cjson.decode, string.sub(value, 5, 4 + length))
if ok and type(header) == "table" and header.etag == ARGV[1] then
  return string.sub(value, 1, 4 + length)
end
return value`;

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
  /** Clock, for tests. @default {Date.now} */
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
      now = Date.now,
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
   * plain memory hit.
   */
  peek(key: string): CacheEntry | undefined {
    if (!this.#link.listening) return undefined;
    const front = this.#memory.peek?.(key);
    return front && front.unconfirmed !== true &&
        this.#now() - front.storedAt < this.#freshMs
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
   * Redis's answer to READ_SINCE for `key` against `front`'s ETag, or
   * {@linkcode UNREACHABLE} when Redis did not answer.
   */
  async #readSince(key: string, front: CacheEntry): Promise<unknown> {
    try {
      return await this.#link.call((redis) =>
        redis.eval(READ_SINCE, {
          keys: [this.#prefix + key],
          arguments: [front.etag],
        })
      );
    } catch {
      return UNREACHABLE;
    }
  }

  /**
   * `front` as Redis confirms it while drops may go unheard: gone from
   * Redis (a write's `DEL`, or a Redis restarted empty) it is unconfirmed,
   * loaded again before it is served and kept for stale-if-error; another
   * body there replaces it; with Redis unreachable, nobody can announce a
   * drop, and `front` stands.
   */
  async #confirmed(key: string, front: CacheEntry): Promise<CacheEntry> {
    const reply = await this.#readSince(key, front);
    if (reply === UNREACHABLE) return front;
    const decoded = reply instanceof Uint8Array ? decodeEntry(reply) : null;
    if (!decoded || decoded.retainUntil <= this.#now()) {
      return front.unconfirmed ? front : { ...front, unconfirmed: true };
    }
    if (decoded.entry.etag !== front.etag) return decoded.entry;
    // The same ETag is the same body; the newer header wins.
    return decoded.entry.storedAt > front.storedAt
      ? { ...decoded.entry, body: front.body }
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
    const reply = await this.#readSince(key, front);
    const decoded = reply instanceof Uint8Array ? decodeEntry(reply) : null;
    const retainMs = decoded ? decoded.retainUntil - this.#now() : 0;
    if (!decoded || retainMs <= 0) return front;
    const same = decoded.entry.etag === front.etag;
    // The same ETag is the same body; the newer header wins.
    const storedAt = Math.max(decoded.entry.storedAt, front.storedAt);
    const entry = same
      ? { ...decoded.entry, body: front.body, storedAt }
      : decoded.entry;
    if (this.#drops.epoch !== epoch) return entry;
    await (same
      ? this.#memory.renew(key, entry, retainMs)
      : this.#memory.set(key, entry, retainMs));
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
    const reply = await this.#readSince(key, front);
    if (!(reply instanceof Uint8Array)) return undefined;
    const decoded = decodeEntry(reply);
    if (!decoded || decoded.entry.storedAt <= front.storedAt) return undefined;
    const retainMs = decoded.retainUntil - this.#now();
    if (retainMs <= 0) return undefined;
    // Our ETag is the body's digest: the same ETag is the same body.
    const same = decoded.entry.etag === front.etag;
    const entry = same ? { ...decoded.entry, body: front.body } : decoded.entry;
    // Dropped here while it was read: what it read may be what went.
    if (this.#drops.epoch !== epoch) return entry;
    await (same
      ? this.#memory.renew(key, entry, retainMs)
      : this.#memory.set(key, entry, retainMs));
    return entry;
  }

  /**
   * The entry in Redis, kept in front too; `undefined` when Redis has none,
   * is down or slow.
   */
  async getShared(key: string): Promise<CacheEntry | undefined> {
    const epoch = this.#drops.epoch;
    let reply: Buffer | null;
    try {
      reply = await this.#link.call((redis) => redis.get(this.#prefix + key));
    } catch {
      return undefined;
    }
    if (!reply) return undefined;
    const decoded = decodeEntry(reply);
    if (!decoded) return undefined;
    const retainMs = decoded.retainUntil - this.#now();
    if (retainMs <= 0) return undefined;
    // Dropped here while it was read (a drop announced, a resubscription):
    // answered, but not kept, since it may be what the drop removed.
    if (this.#drops.epoch === epoch) {
      await this.#memory.set(key, decoded.entry, retainMs);
    }
    return decoded.entry;
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
    const head = encodeHeader({
      entry,
      retainUntil: entry.storedAt + retainMs,
    });
    let renewed: unknown;
    try {
      renewed = await this.#link.call((redis) =>
        redis.eval(RENEW, {
          keys: [this.#prefix + key],
          arguments: [
            Buffer.from(head.buffer, head.byteOffset, head.byteLength),
            entry.etag,
            String(Math.max(1, Math.ceil(retainMs))),
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
    return renewed === 1 || front;
  }

  /** Sets the entry in Redis; whether Redis took it. */
  async #setShared(
    key: string,
    entry: CacheEntry,
    retainMs: number,
  ): Promise<boolean> {
    const bytes = encodeEntry({
      entry,
      retainUntil: entry.storedAt + retainMs,
    });
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Before the SET: a drop arriving while it is in flight finds it.
    this.#drops.stored(key);
    try {
      await this.#link.call((redis) =>
        redis.set(this.#prefix + key, value, {
          PX: Math.max(1, Math.ceil(retainMs)),
        })
      );
      return true;
    } catch {
      // The front tier may have it; other instances fetch their own.
      return false;
    }
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
