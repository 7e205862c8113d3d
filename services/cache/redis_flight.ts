/**
 * Single-flight across instances: the instance that takes the Redis lock
 * `SET lock:<key> <token> NX PX <lockMs>` loads the key, stores it, then
 * releases the lock (only if still its own: compare-and-delete in one
 * script) and announces the key on a channel in the same script. The others
 * wait for that announcement (one shared subscriber connection, dispatched
 * here by key), bounded by `waitMs`, then read the entry from Redis. No
 * polling: a waiter wakes when the entry lands. When the wait runs out, the
 * announced entry is not there, or Redis cannot answer, the waiter loads
 * the key itself: Redis is an optimisation, never a reason to fail.
 *
 * The lock is a lease: it lives `leaseMs` and its owner renews it while it
 * loads (every quarter of it, up to `lockMs` in all), and a waiter looks
 * whether it is still held at the same pace. An owner that died (kill -9,
 * OOM) stops renewing, so its lock is gone within `leaseMs` and the
 * waiters elsewhere load the key then: they waited out the whole `lockMs`
 * before (`UPSTREAM_TIMEOUT_MS` + 1 s, 6 s by default), each request of
 * that key on every other instance.
 *
 * A Redis whose ACL refuses the lock or its release (no `+eval`, or a
 * command the release script calls) would leave each lock taken for the
 * other instances to wait out: while one was refused in the last
 * {@linkcode LOCKS_OFF_MS}, no lock is taken and each instance loads its
 * own misses, as with Redis down (the refusal is said by the link).
 *
 * @module
 */

import type { Flight, FlightResult } from "./flight.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import type { CacheEntry } from "./store.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import type { Logger } from "../ops/logger.ts";
import { deniedCommand } from "../redis/redis_denials.ts";

// Deletes the lock only when it still holds our token (it may have expired
// and been taken by another instance), and announces the key either way:
// waiters wake and find the entry, or load it themselves.
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
end
return redis.call("PUBLISH", ARGV[2], ARGV[3])`;

// Extends the lock only while it still holds our token.
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`;

/** Default life of a lock between its owner's renewals: 2 s. */
export const DEFAULT_LEASE_MS = 2_000;

/**
 * After the ACL refused a lock or its release, locks are not taken for
 * this long, ms; then one is tried again (the ACL may be fixed). A retry
 * period, not a lock's life: a try still refused leaves its lock for one
 * lease ({@linkcode DEFAULT_LEASE_MS}, its renewals refused too) for the
 * other instances to wait out, so five leases bound that to a fifth of
 * the time, and single-flight comes back within 10 s of the fix.
 */
export const LOCKS_OFF_MS = 10_000;

/** Whether `error` (a link's, its cause Redis's) is an ACL refusal. */
function refusedByAcl(error: unknown): boolean {
  return deniedCommand(error instanceof Error ? error.cause : undefined) !==
    undefined;
}

/** The announcement of one key, awaited; see `RedisFlight.#expect`. */
interface Landing {
  /** Resolves true once announced, false after `ms` without. */
  wait(ms: number): Promise<boolean>;
  cancel(): void;
}

/** Options of {@linkcode RedisFlight}. */
export interface RedisFlightOptions {
  /** The Redis connections (subscribed to `channel`). */
  link: RedisLink;
  /** Reads the entry another instance stored (the Redis tier). */
  read: (key: string) => Promise<CacheEntry | undefined>;
  /** Longest a load holds its lock (its renewals stop then), ms. */
  lockMs: number;
  /**
   * How long a lock lives unless its owner renews it, ms (at most
   * `lockMs`). @default {2000}
   */
  leaseMs?: number;
  /** Longest wait for another instance's entry, ms. @default {lockMs} */
  waitMs?: number;
  /** The announcement channel. @default {"async-api:cache:filled"} */
  channel?: string;
  /** Prefix of the lock keys. @default {"async-api:lock:"} */
  prefix?: string;
  /**
   * Where a waiter logs (debug) how its wait ended: `announced`,
   * `lock_gone`, `link_down` or `timed_out`. @default {silent}
   */
  logger?: Pick<Logger, "debug">;
}

/** How a wait for another instance's load ended. */
type WaitEnd = "announced" | "lock_gone" | "link_down" | "timed_out";

/** One load per key across every instance sharing a Redis. */
export class RedisFlight implements Flight {
  readonly #link: RedisLink;
  readonly #read: (key: string) => Promise<CacheEntry | undefined>;
  readonly #lockMs: number;
  readonly #leaseMs: number;
  readonly #waitMs: number;
  readonly #channel: string;
  readonly #prefix: string;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #logger: Pick<Logger, "debug"> | undefined;
  /** No lock is taken before this time (see {@linkcode LOCKS_OFF_MS}). */
  #locksOffUntil = 0;

  constructor(options: RedisFlightOptions) {
    const {
      link,
      read,
      lockMs,
      waitMs = lockMs,
      leaseMs = Math.min(lockMs, DEFAULT_LEASE_MS),
      channel = "async-api:cache:filled",
      prefix = "async-api:lock:",
      logger,
    } = options;
    checkWholeNumbers({ lockMs, waitMs, leaseMs });
    if (leaseMs > lockMs) {
      throw new RangeError(`leaseMs must be at most lockMs: ${leaseMs}`);
    }
    this.#link = link;
    this.#read = read;
    this.#lockMs = lockMs;
    this.#leaseMs = leaseMs;
    this.#waitMs = waitMs;
    this.#channel = channel;
    this.#prefix = prefix;
    this.#logger = logger;
  }

  /** Keys some caller waits on now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Wakes the waiters of `key` (the subscriber's message handler). */
  announced(key: string): void {
    const wakes = this.#waiters.get(key);
    if (!wakes) return;
    this.#waiters.delete(key);
    for (const wake of wakes) wake();
  }

  async run(
    key: string,
    load: () => Promise<CacheEntry>,
    usable: (entry: CacheEntry) => boolean,
  ): Promise<FlightResult> {
    const here = async () => ({ entry: await load(), loadedHere: true });
    if (!this.#link.usable || performance.now() < this.#locksOffUntil) {
      return await here();
    }
    // Listen before asking for the lock, so an announcement that comes
    // right after the lock attempt is not missed.
    const landed = this.#expect(key);
    try {
      const token = crypto.randomUUID();
      const lock = this.#prefix + key;
      let owned: boolean;
      try {
        // Not while Redis refuses writes for memory: no lock, a load here.
        owned = await this.#link.write((redis) =>
          redis.set(lock, token, { NX: true, PX: this.#leaseMs })
        ) === "OK";
      } catch (error) {
        this.#refused(error);
        return await here();
      }
      const peer = async () => {
        const entry = await this.#read(key);
        return entry && usable(entry)
          ? { entry, loadedHere: false }
          : undefined;
      };
      if (owned) {
        const renewals = this.#renew(lock, token);
        try {
          // Another instance may have stored it just before we locked.
          return await peer() ?? await here();
        } finally {
          clearInterval(renewals);
          await this.#release(lock, token, key);
        }
      }
      const early = await peer();
      if (early) return early;
      const ended = await this.#waitOut(lock, landed);
      // Whether the owner's announcement woke the wait (else a lost
      // release shows only as a slower answer).
      this.#logger?.debug("cache.flight_wait", { key, ended });
      return await peer() ?? await here();
    } finally {
      landed.cancel();
    }
  }

  /** Renews `lock` while the load runs, for `lockMs` at most. */
  #renew(lock: string, token: string): ReturnType<typeof setInterval> {
    const until = performance.now() + this.#lockMs;
    const timer = setInterval(() => {
      if (performance.now() + this.#leaseMs > until) {
        return clearInterval(timer);
      }
      // Also while the link holds back commands after a slow one (as the
      // release): a lease lost then makes another instance load too.
      this.#link.callWhileSlow((redis) =>
        redis.eval(RENEW, {
          keys: [lock],
          arguments: [token, String(this.#leaseMs)],
        })
      ).catch(() => {});
    }, this.#leaseMs / 4);
    return timer;
  }

  /**
   * Waits for the announcement of the load holding `lock`, `waitMs` at
   * most, and no longer once the lock is gone (its owner died: nobody
   * renews it) or a connection to Redis is lost: an announcement published
   * while the subscriber is down never arrives, and the entry cannot be
   * read, so the wait could only run out (Redis stopped under waiters held
   * them the whole `waitMs`, 6 s by default, before they loaded the key).
   * Unsure (a command unanswered while connected), it waits on.
   */
  async #waitOut(lock: string, landed: Landing): Promise<WaitEnd> {
    const until = performance.now() + this.#waitMs;
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) return "timed_out";
      if (await landed.wait(Math.min(left, this.#leaseMs / 4))) {
        return "announced";
      }
      if (!this.#link.up) return "link_down";
      const held = await this.#link.call((redis) => redis.exists(lock))
        .then((n) => n > 0, () => true);
      if (!held) return "lock_gone";
    }
  }

  async #release(lock: string, token: string, key: string): Promise<void> {
    try {
      // Also while the link holds back commands after a slow one: else
      // the lock outlives the load by up to lockMs, and so do the waits.
      await this.#link.callWhileSlow((redis) =>
        redis.eval(RELEASE, {
          keys: [lock],
          arguments: [token, this.#channel, key],
        })
      );
    } catch (error) {
      // The lock expires by itself; waiters stop waiting at waitMs.
      this.#refused(error);
    }
  }

  /** Takes no lock for a while when `error` is the ACL refusing one. */
  #refused(error: unknown): void {
    if (refusedByAcl(error)) {
      this.#locksOffUntil = performance.now() + LOCKS_OFF_MS;
    }
  }

  #expect(key: string): Landing {
    const { promise, resolve } = Promise.withResolvers<void>();
    let wakes = this.#waiters.get(key);
    if (!wakes) this.#waiters.set(key, wakes = new Set());
    wakes.add(resolve);
    const announced = promise.then(() => true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    return {
      wait: (ms) =>
        new Promise<boolean>((done) => {
          clearTimeout(timer);
          timer = setTimeout(() => done(false), ms);
          announced.then(done);
        }),
      cancel: () => {
        clearTimeout(timer);
        const current = this.#waiters.get(key);
        current?.delete(resolve);
        if (current?.size === 0) this.#waiters.delete(key);
      },
    };
  }
}
