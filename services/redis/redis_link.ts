/**
 * The connections to Redis of one instance, shared by the cache tier
 * (`services/cache/`) and the upload relay (`services/uploads/`): one command
 * connection (binary replies as `Buffer`s) and one subscriber connection for
 * their announcements, each on its own channel. Redis is an optimisation, never
 * a dependency: a command that is not connected, fails or takes longer than
 * `timeoutMs` rejects with {@linkcode RedisUnavailableError}, which callers
 * treat as a miss. Losing and regaining the connection is logged once per
 * change, and node-redis reconnects with capped exponential backoff. A
 * connection whose path went silent (no FIN, no RST) is found by its PINGs and
 * replaced (`redis_connection.ts`). While the subscriber is not subscribed, or
 * a PING of it is late, messages published meanwhile may be lost:
 * {@linkcode RedisLink.listening} says so, {@linkcode RedisLink.onSilent} tells
 * when it was found silent, and {@linkcode RedisLink.onSubscribed} when it is
 * subscribed again.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { type Logger, silentLogger } from "../ops/logger.ts";
import {
  type ConnectionEvents,
  type RedisCommands,
  RedisConnection,
} from "./redis_connection.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { errorKind, RedisHealth, SLOW_PAUSE_MS } from "./redis_health.ts";
import { withinDeadline } from "./command_deadline.ts";
import { RedisDenials } from "./redis_denials.ts";

/** A Redis command could not be answered in time: treat it as a miss. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

/** Options of {@linkcode RedisLink}. */
export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Longest wait for one command's answer, ms. @default {100} */
  timeoutMs?: number;
  /** Longest wait for a connection to open, ms. @default {1000} */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts, ms. @default {1000} */
  maxBackoffMs?: number;
  /**
   * Period of the liveness PINGs on each connection, ms: one unanswered by
   * the second period replaces the connection. @default {1000}
   */
  pingIntervalMs?: number;
  /** Called with each announcement received on `channel`. */
  onMessage?: (message: string) => void;
  /** The channel the subscriber listens on. */
  channel?: string;
  /** Logs changes of reachability. */
  logger?: Logger;
}

export type { RedisCommands } from "./redis_connection.ts";

/** The two connections, their reachability and timed commands. */
export class RedisLink {
  readonly #client: RedisConnection;
  readonly #subscriber: RedisConnection;
  readonly #timeoutMs: number;
  readonly #health: RedisHealth;
  readonly #denials: RedisDenials;
  #backoffUntil = 0;
  #retries = 0;
  #closed = false;
  #listening = false;
  readonly #subscribedListeners = new Set<() => void>();
  readonly #silentListeners = new Set<() => void>();

  constructor(options: RedisLinkOptions) {
    const {
      url,
      timeoutMs = 100,
      connectTimeoutMs = 1000,
      maxBackoffMs = 1000,
      pingIntervalMs = 1000,
      onMessage,
      channel = "async-api:cache:filled",
      logger = silentLogger,
    } = options;
    checkWholeNumbers({
      timeoutMs,
      connectTimeoutMs,
      maxBackoffMs,
      pingIntervalMs,
    });
    this.#timeoutMs = timeoutMs;
    // Never log credentials.
    const shown = new URL(url);
    if (shown.password) shown.password = "***";
    this.#health = new RedisHealth({ logger, url: shown.href, timeoutMs });
    this.#denials = new RedisDenials({ logger, url: shown.href });
    // 50 ms, 100 ms, ... up to maxBackoffMs, with jitter so that instances
    // do not reconnect in lockstep after a Redis restart.
    const backoff = (retries: number): number | Error => {
      // An attempt that failed after close() must not schedule another.
      if (this.#closed) return new RedisUnavailableError("closed");
      this.#retries++;
      const ms = Math.round(
        Math.min(maxBackoffMs, 50 * 2 ** Math.min(retries, 10)) *
          (0.75 + Math.random() / 4),
      );
      this.#backoffUntil = Math.max(this.#backoffUntil, performance.now() + ms);
      return ms;
    };
    const open = (events: ConnectionEvents, pacedBy?: RedisConnection) =>
      new RedisConnection({
        url,
        connectTimeoutMs,
        backoff,
        pingIntervalMs,
        timeoutMs,
        events,
        pacedBy,
      });
    this.#client = open({
      ready: () => this.#regained(),
      lost: (error) => this.#lost(error),
      unsure: () => {},
      sure: () => {},
      dead: () => {},
      denied: (error) => this.#denials.record(error),
    });
    // Paced by the command connection's `CONFIG GET timeout`: asked on the
    // subscriber, it came after the SUBSCRIBEs and was refused, unsaid.
    this.#subscriber = open(this.#subscriberEvents(), this.#client);
    if (onMessage) this.subscribe(channel, onMessage);
  }

  /**
   * Keeps {@linkcode RedisLink.listening}: node-redis emits "ready" on the
   * subscriber only once its channels are subscribed (it waits for the
   * SUBSCRIBE replies), so from then on no message is lost; an error (the
   * socket closed, a refused SUBSCRIBE) means some may be, and a late PING
   * that it is unknown whether any is.
   */
  #subscriberEvents(): ConnectionEvents {
    return {
      ready: () => {
        this.#listening = true;
        for (const listener of this.#subscribedListeners) listener();
        this.#regained();
      },
      lost: (error) => {
        this.#listening = false;
        this.#lost(error);
      },
      unsure: () => {
        this.#listening = false;
      },
      // In order: what was published before the PONG has arrived.
      sure: () => {
        this.#listening = this.#subscriber.ready;
      },
      dead: () => {
        for (const listener of this.#silentListeners) listener();
      },
      denied: (error) => this.#denials.record(error),
    };
  }

  /**
   * Whether the subscriber is subscribed now: when not, messages published
   * meanwhile never arrive. A plain field, read on every memory hit.
   */
  get listening(): boolean {
    return this.#listening;
  }

  /**
   * Calls `listener` each time the subscriber is subscribed again (and the
   * first time), once messages published from then on arrive.
   */
  onSubscribed(listener: () => void): void {
    this.#subscribedListeners.add(listener);
  }

  /**
   * Calls `listener` each time the subscriber was found silent (a PING
   * unanswered) and replaced: drops announced meanwhile may have been
   * missed, while the path to Redis may be dead from here only, so other
   * instances may still reach it and write.
   */
  onSilent(listener: () => void): void {
    this.#silentListeners.add(listener);
  }

  /**
   * Calls `onMessage` with each message on `channel`, over the one
   * subscriber connection (subscribed again after a reconnect, and on a
   * connection that replaces a silent one).
   */
  subscribe(channel: string, onMessage: (message: string) => void): void {
    this.#subscriber.subscribe(channel, (message: Buffer | string) => {
      onMessage(String(message));
    });
  }

  /**
   * Reconnection attempts scheduled so far, both connections together: what
   * has happened while Redis stays down is counted in attempts, not time.
   */
  get retries(): number {
    return this.#retries;
  }

  /** Whether both connections are open now (the `cache_redis_up` gauge). */
  get up(): boolean {
    return !this.#closed && this.#client.ready && this.#subscriber.ready;
  }

  /**
   * Whether the link is down in a short loss of a flapping link, counted in
   * `cache.redis_flapping` rather than said (`redis_health.ts`).
   */
  get flapping(): boolean {
    return this.#health.folded;
  }

  /**
   * Connections found silent (a PING or a handshake unanswered by the
   * second period) and replaced so far.
   */
  get silentDeaths(): number {
    return this.#client.deaths + this.#subscriber.deaths;
  }

  /**
   * Whether commands are worth sending now: connected, and no command timed
   * out in the last {@linkcode SLOW_PAUSE_MS} (a slow Redis would otherwise
   * add its timeout to every request).
   */
  get usable(): boolean {
    return this.up && !this.#health.slow;
  }

  /** Commands that took longer than the timeout so far. */
  get timeouts(): number {
    return this.#health.timeouts;
  }

  /**
   * Writes not sent so far because Redis refused one for want of memory
   * just before (`redis_health.ts`'s `FULL_PAUSE_MS`).
   */
  get writesSkipped(): number {
    return this.#health.writesSkipped;
  }

  /**
   * Commands that failed while connected so far: an error reply (`OOM` at
   * `maxmemory` with `noeviction`, `READONLY` from a replica, `NOAUTH`) or
   * the connection lost mid-command.
   */
  get failures(): number {
    return this.#health.failures;
  }

  /**
   * Commands refused so far by the ACL (or unknown to a Redis that renamed
   * them), by command: see `redis_denials.ts`.
   */
  get denials(): ReadonlyMap<string, number> {
    return this.#denials.counts;
  }

  /**
   * Runs `command` on the command connection, bounded by the timeout.
   *
   * @throws {RedisUnavailableError} when not connected, on a failure, or
   * when no answer came in time (the late answer is ignored).
   */
  call<T>(command: (client: RedisCommands) => Promise<T>): Promise<T> {
    if (this.#health.slow) {
      return Promise.reject(
        new RedisUnavailableError("Redis answered too slowly just now"),
      );
    }
    return this.callWhileSlow(command);
  }

  /**
   * Runs `command`, one that stores (a lock, an entry), as
   * {@linkcode call} does; not while Redis refuses writes for want of
   * memory (an `OOM` reply in the last `FULL_PAUSE_MS`): reads still go.
   *
   * @throws {RedisUnavailableError} as {@linkcode call}, and in that pause.
   */
  write<T>(command: (client: RedisCommands) => Promise<T>): Promise<T> {
    if (this.#health.full) {
      this.#health.skippedWrite();
      return Promise.reject(
        new RedisUnavailableError("Redis is out of memory just now"),
      );
    }
    return this.call(command);
  }

  /**
   * Runs `command` as {@linkcode call} does, but also in the pause after a
   * command timed out: for a command whose absence costs other instances
   * more than its timeout costs this one (the single-flight's release,
   * which wakes the waiters elsewhere; skipped, they wait out the lock).
   *
   * @throws {RedisUnavailableError} when not connected, on a failure, or
   * when no answer came in time (the late answer is ignored).
   */
  async callWhileSlow<T>(
    command: (client: RedisCommands) => Promise<T>,
  ): Promise<T> {
    const client = this.#client.client;
    // Not ready also while Redis refuses this client its commands: each
    // would be refused in turn (see `RedisConnection.refused`).
    if (!this.#client.ready) {
      throw new RedisUnavailableError("Redis is not connected");
    }
    const pending = command(client);
    try {
      return await withinDeadline(pending, {
        timeoutMs: this.#timeoutMs,
        busyLimitMs: SLOW_PAUSE_MS,
        onTimeout: () => {
          this.#health.timedOut();
          return new RedisUnavailableError("Redis answered too slowly");
        },
      });
    } catch (error) {
      if (error instanceof RedisUnavailableError) throw error;
      // One refused by the ACL is said once by its command, not as any
      // other failure every 10 s.
      if (this.#denials.record(error)) this.#health.counted();
      else if (error instanceof Error && errorKind(error) === "OOM") {
        this.#health.refusedForMemory(error);
      } else this.#health.failed(error);
      // A password refused (`NOAUTH`, `WRONGPASS`) refuses every command:
      // down at once, not at the next PING. A `NOPERM` may be this one
      // command's, with PING allowed: it is left to the PINGs, as the link
      // would otherwise go down and up again each PING period.
      if (
        error instanceof Error && errorKind(error) !== "NOPERM" &&
        client === this.#client.client
      ) {
        this.#client.refused(error);
      }
      throw new RedisUnavailableError("Redis command failed", {
        cause: error,
      });
    }
  }

  /**
   * Closes both connections and stops reconnecting. While Redis is down
   * this takes until the pending reconnection pause ends (at most
   * `maxBackoffMs`): node-redis cannot cancel that pause's timer.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listening = false;
    this.#client.close();
    this.#subscriber.close();
    this.#health.close();
    await Promise.all([this.#client.settled(), this.#subscriber.settled()]);
    // A margin: the runtime may fire that timer a little after its time.
    const pause = this.#backoffUntil + 25 - performance.now();
    if (this.#backoffUntil > 0 && pause > 0) {
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  #lost(error: Error): void {
    if (!this.#closed) this.#health.lost(error);
  }

  #regained(): void {
    if (this.up) this.#health.regained();
  }
}
