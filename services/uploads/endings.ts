/**
 * The endings of recent uploads, for the subscriber of
 * `GET /uploads/events?id=` who comes after the upload ended: it gets the
 * ending (`done` or `failed`) at once and its stream ends, where before a
 * `failed` upload left no trace (the storage holds stored files only) and
 * such a stream stayed open until the client left.
 *
 * Kept in this process: the endings of its own uploads and those relayed
 * from other instances (`relay.ts`). With `REDIS_URL`, each instance also
 * writes its own uploads' endings to Redis, one key per upload with a TTL
 * (`SET ... PX`), which a subscriber in any instance reads (one `GET` at
 * once, then at each of the watchers' storage polls): an instance that
 * started after the ending was relayed, or that missed the message
 * (its subscriber was reconnecting), still finds it. An ending that could
 * not be written (Redis away) is tried again every {@linkcode RETRY_MS}
 * while it is kept, so a subscriber elsewhere gets it once Redis is back.
 *
 * Bounded in count and time: at most `maxKept` endings (the oldest go
 * first) for `ttlMs` each, here as in Redis. An upload of the same id
 * that starts again (a client retrying a failed upload) forgets its last
 * ending here and deletes its key. An attempt refused because its id was
 * taken (409) is no ending of the id: it is neither kept nor written, so
 * the ending of the upload that holds the id (or, once that one is
 * forgotten, the stored file) stays what a late subscriber gets.
 *
 * @module
 */

import { type Logger, silentLogger } from "../ops/logger.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import { type EndingEvent, endsTheId } from "./board.ts";
import { endingId, parseEnding } from "./event_schema.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Default most endings kept. */
export const DEFAULT_MAX_ENDINGS = 1_024;
/** Default time an ending is kept: 60 s. */
export const DEFAULT_ENDING_TTL_MS = 60_000;
/** Prefix of the endings' keys in Redis. */
export const ENDING_KEY_PREFIX = "async-api:uploads:ended:";
/** Pause between attempts to write endings Redis did not take, ms. */
export const RETRY_MS = 1_000;

/** What the endings use of the Redis connections. */
export type EndingsLink = Pick<RedisLink, "call">;

/** Options of {@linkcode RecentEndings}. */
export interface RecentEndingsOptions {
  /** With `REDIS_URL`, where the endings are shared. */
  link?: EndingsLink | undefined;
  /** Most endings kept. @default {1024} */
  maxKept?: number;
  /** Time an ending is kept, ms. @default {60000} */
  ttlMs?: number;
  /** Logs endings that could not be shared, and when they were. */
  logger?: Logger;
  /**
   * Clock, ms, for tests: monotonic (an ending's `at` never leaves this
   * process; Redis counts its own TTL), so a step of the wall clock neither
   * forgets the endings at once nor keeps them an hour more.
   * @default {performance.now}
   */
  now?: () => number;
}

interface Kept {
  ending: EndingEvent;
  at: number;
}

/** The endings of recent uploads; see the module doc. */
export class RecentEndings {
  readonly #link: EndingsLink | undefined;
  readonly #maxKept: number;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** By id, oldest first. */
  readonly #kept = new Map<string, Kept>();
  /** Ids of this instance's endings not written to Redis yet. */
  readonly #unwritten = new Set<string>();
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Validates the options; throws `RangeError` on bad values. */
  constructor(options: RecentEndingsOptions = {}) {
    const {
      maxKept = DEFAULT_MAX_ENDINGS,
      ttlMs = DEFAULT_ENDING_TTL_MS,
      logger = silentLogger,
      now = () => performance.now(),
    } = options;
    checkWholeNumbers({ maxKept, ttlMs });
    this.#link = options.link;
    this.#maxKept = maxKept;
    this.#ttlMs = ttlMs;
    this.#logger = logger;
    this.#now = now;
  }

  /** Endings kept here now. */
  get size(): number {
    this.#prune();
    return this.#kept.size;
  }

  /**
   * An ending of this instance's upload: kept, and written to Redis; a
   * refusal of a taken id is not the id's ending (`endsTheId`).
   */
  ended(ending: EndingEvent): void {
    if (!endsTheId(ending)) return;
    const id = endingId(ending);
    this.#keep(id, ending);
    if (this.#link === undefined || this.#closed) return;
    this.#unwritten.add(id);
    void this.#write(id).catch(() => this.#postpone());
  }

  /** An ending relayed from another instance (which writes it to Redis). */
  heard(ending: EndingEvent): void {
    if (endsTheId(ending)) this.#keep(endingId(ending), ending);
  }

  /** An upload of `id` starts here (again): its last ending is forgotten. */
  started(id: string): void {
    this.#unwritten.delete(id);
    if (!this.#kept.delete(id) && this.#link === undefined) return;
    // Another instance may have written it: a late subscriber must not get
    // the last attempt's ending for this one. Fire and forget.
    this.#link?.call((redis) => redis.del(ENDING_KEY_PREFIX + id))
      .catch(() => {});
  }

  /** The ending of upload `id` kept here, if any. */
  recall(id: string): EndingEvent | undefined {
    const kept = this.#kept.get(id);
    if (kept === undefined) return undefined;
    if (kept.at > this.#now() - this.#ttlMs) return kept.ending;
    this.#kept.delete(id);
    return undefined;
  }

  /**
   * The ending of upload `id`, kept here or else in Redis; `undefined`
   * when neither knows it or Redis cannot answer now.
   */
  async lookup(id: string): Promise<EndingEvent | undefined> {
    const known = this.recall(id);
    if (known !== undefined || this.#link === undefined) return known;
    try {
      const reply = await this.#link.call((redis) =>
        redis.get(ENDING_KEY_PREFIX + id)
      );
      return reply === null ? undefined : parseEnding(String(reply));
    } catch {
      return undefined;
    }
  }

  /** Stops the retries and forgets everything. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#kept.clear();
    this.#unwritten.clear();
  }

  #keep(id: string, ending: EndingEvent): void {
    this.#kept.delete(id);
    this.#kept.set(id, { ending, at: this.#now() });
    this.#prune();
  }

  /** Drops the endings past `ttlMs`, and the oldest past `maxKept`. */
  #prune(): void {
    const since = this.#now() - this.#ttlMs;
    for (const [id, { at }] of this.#kept) {
      if (at > since && this.#kept.size <= this.#maxKept) break;
      this.#kept.delete(id);
      this.#unwritten.delete(id);
    }
  }

  /** Writes ending `id` to Redis for the rest of its time here. */
  async #write(id: string): Promise<void> {
    const kept = this.#kept.get(id);
    const left = kept === undefined ? 0 : kept.at + this.#ttlMs - this.#now();
    if (kept === undefined || left <= 0 || !this.#unwritten.has(id)) {
      this.#unwritten.delete(id);
      return;
    }
    const value = JSON.stringify(kept.ending);
    await this.#link!.call((redis) =>
      redis.set(ENDING_KEY_PREFIX + id, value, { PX: Math.ceil(left) })
    );
    this.#unwritten.delete(id);
  }

  #postpone(): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#logger.warn("uploads.ending_not_shared", {
      detail: `other instances get it once Redis answers (tried every ` +
        `${RETRY_MS} ms while it is kept)`,
    });
    this.#retry = setTimeout(() => this.#retryUnwritten(), RETRY_MS);
  }

  async #retryUnwritten(): Promise<void> {
    this.#retry = undefined;
    this.#prune();
    for (const id of [...this.#unwritten]) {
      try {
        await this.#write(id);
      } catch {
        break; // Redis still away: the next attempt tries them all.
      }
    }
    if (this.#closed) return;
    if (this.#unwritten.size > 0) {
      this.#retry = setTimeout(() => this.#retryUnwritten(), RETRY_MS);
    } else {
      this.#logger.info("uploads.endings_shared_late", {});
    }
  }
}

/** An ending's event name and data as `GET /uploads/events` streams them. */
export function streamedEnding(ending: EndingEvent): [string, { id: string }] {
  if (ending.type === "done") {
    const { sha256Base64: _, ...result } = ending.result;
    return ["done", result];
  }
  const { type: _, progress, ...rest } = ending;
  return ["failed", { ...progress, ...rest }];
}
