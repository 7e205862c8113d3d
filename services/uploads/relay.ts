/**
 * The uploads of the other instances sharing a Redis (`REDIS_URL`): other
 * workers of `deno serve --parallel`, other instances behind a load
 * balancer. Each instance publishes its own board's events on one channel
 * and subscribes to that one channel, so a subscriber of
 * `GET /uploads/events?id=` in any instance gets an upload's `progress`,
 * then its `done` or `failed`, wherever it runs, and `GET /uploads` lists
 * every instance's uploads in flight.
 *
 * What is sent, and when: one message per tick of the board's progress
 * timer (every 250 ms while this instance has uploads in flight, all of
 * them in the one message), and one per ending. Nothing on an upload's
 * path per chunk: the board reads the pipeline's counters on its timer.
 * Redis is never waited for: a PUBLISH is fired and forgotten, bounded by
 * the link's command timeout, skipped while the link is not usable (down,
 * or slow a moment ago) and while {@linkcode MAX_PENDING} are unanswered;
 * its failure is logged once until one goes through again.
 *
 * What is kept: the latest progress of each upload heard of, dropped at its
 * ending, or when nothing was heard of it for `staleMs` (its instance
 * stopped, or Redis went away), and at most `maxRemote` uploads (more are
 * not listed until some end). A message lost on the way (the subscriber
 * was reconnecting) loses progress, or an ending: once the upload is no
 * longer heard of, the subscribers' storage poll (`watchers.ts`) sends
 * `done` when the file is stored.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";
import { silentLogger } from "../ops/logger.ts";
import type { RedisLink } from "../redis/redis_link.ts";
import type { BoardEvent, UploadBoard, UploadProgress } from "./board.ts";
import { parseRelayMessage } from "./event_schema.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** The channel of the upload events. */
export const DEFAULT_RELAY_CHANNEL = "async-api:uploads:events";
/** Default time after which an upload not heard of is no longer listed. */
export const DEFAULT_STALE_MS = 3_000;
/** Default most uploads of other instances kept. */
export const DEFAULT_MAX_REMOTE = 1_024;
/** PUBLISHes left unanswered before the next ones are skipped. */
export const MAX_PENDING = 4;
// Longer messages are not ours: ignored unread.
const MAX_MESSAGE_CHARS = 4 * 1024 * 1024;

/** What the relay uses of the Redis connections. */
export type RelayLink = Pick<RedisLink, "subscribe" | "call" | "usable">;

/** What a relay did, for metrics. */
export type RelayCount = "sent" | "skipped" | "failed" | "received";

/** Options of {@linkcode UploadRelay}. */
export interface UploadRelayOptions {
  /** This instance's uploads, whose events are published. */
  board: UploadBoard;
  /** The Redis connections. */
  link: RelayLink;
  /** The channel. @default {"async-api:uploads:events"} */
  channel?: string;
  /** An upload not heard of this long is dropped, ms. @default {3000} */
  staleMs?: number;
  /** Most uploads of other instances kept. @default {1024} */
  maxRemote?: number;
  /** Logs a PUBLISH that failed (once until one goes through). */
  logger?: Logger;
  /** Counts messages (metrics). */
  onCount?: (count: RelayCount) => void;
  /**
   * Clock, ms, for tests: monotonic (a `seen` never leaves this process),
   * so a step of the wall clock neither drops the uploads heard of at once
   * nor lists a stopped instance's for an hour. @default {performance.now}
   */
  now?: () => number;
}

interface Remote {
  progress: UploadProgress;
  seen: number;
}

/** The other instances' uploads, heard over Redis; see the module doc. */
export class UploadRelay {
  readonly #from = crypto.randomUUID();
  readonly #link: RelayLink;
  readonly #channel: string;
  readonly #staleMs: number;
  readonly #maxRemote: number;
  readonly #logger: Logger;
  readonly #onCount: (count: RelayCount) => void;
  readonly #now: () => number;
  readonly #remote = new Map<string, Remote>();
  readonly #listeners = new Set<(event: BoardEvent) => void>();
  readonly #stopBoard: () => void;
  #pending = 0;
  #failing = false;
  #closed = false;

  /** Validates the options; throws `RangeError` on bad values. */
  constructor(options: UploadRelayOptions) {
    const {
      board,
      link,
      channel = DEFAULT_RELAY_CHANNEL,
      staleMs = DEFAULT_STALE_MS,
      maxRemote = DEFAULT_MAX_REMOTE,
      logger = silentLogger,
      onCount = () => {},
      now = () => performance.now(),
    } = options;
    checkWholeNumbers({ staleMs, maxRemote });
    this.#link = link;
    this.#channel = channel;
    this.#staleMs = staleMs;
    this.#maxRemote = maxRemote;
    this.#logger = logger;
    this.#onCount = onCount;
    this.#now = now;
    link.subscribe(channel, (message) => this.#received(message));
    // Listening keeps the board's timer running while uploads run here:
    // its ticks are what is published.
    this.#stopBoard = board.listen((event) => this.#publish(event));
  }

  /** The other instances' uploads in flight, oldest heard of first. */
  list(): UploadProgress[] {
    this.#prune();
    return [...this.#remote.values()].map(({ progress }) => progress);
  }

  /** Whether upload `id` runs in another instance, as last heard. */
  has(id: string): boolean {
    const known = this.#remote.get(id);
    return known !== undefined && known.seen >= this.#now() - this.#staleMs;
  }

  /** Uploads of other instances kept now. */
  get size(): number {
    return this.#remote.size;
  }

  /**
   * Calls `listener` with each event heard from another instance; returns
   * the function that stops it.
   */
  listen(listener: (event: BoardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Stops publishing and hearing; forgets the other instances' uploads. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopBoard();
    this.#listeners.clear();
    this.#remote.clear();
  }

  /** Fires one PUBLISH of `event`, unless Redis cannot take it now. */
  #publish(event: BoardEvent): void {
    if (event.type === "progress" && event.uploads.length === 0) return;
    if (!this.#link.usable || this.#pending >= MAX_PENDING) {
      this.#onCount("skipped");
      return;
    }
    const message = JSON.stringify({ from: this.#from, event });
    this.#pending++;
    this.#link.call((redis) => redis.publish(this.#channel, message)).then(
      () => {
        this.#onCount("sent");
        if (!this.#failing) return;
        this.#failing = false;
        this.#logger.info("uploads.relay_resumed", {});
      },
      (error: Error) => {
        this.#onCount("failed");
        if (this.#failing) return;
        this.#failing = true;
        this.#logger.warn("uploads.relay_failed", {
          error: error.message,
          detail: "other instances see these uploads' endings from the " +
            "storage only, until Redis answers again",
        });
      },
    ).finally(() => this.#pending--);
  }

  #received(text: string): void {
    if (this.#closed || text.length > MAX_MESSAGE_CHARS) return;
    // Held to the one schema of the events (`event_schema.ts`).
    const message = parseRelayMessage(text);
    if (message === undefined || message.from === this.#from) return;
    const { event } = message;
    this.#onCount("received");
    if (event.type === "progress") {
      const kept = event.uploads.filter((progress) => this.#keep(progress));
      if (kept.length === 0) return;
      this.#emit({ type: "progress", uploads: kept });
    } else {
      this.#remote.delete(event.type === "done" ? event.id : event.progress.id);
      this.#emit(event);
    }
  }

  /** Records `progress`; false when `maxRemote` uploads are kept already. */
  #keep(progress: UploadProgress): boolean {
    const known = this.#remote.get(progress.id);
    if (known === undefined) {
      this.#prune();
      if (this.#remote.size >= this.#maxRemote) return false;
    }
    this.#remote.set(progress.id, { progress, seen: this.#now() });
    return true;
  }

  /** Drops the uploads not heard of for `staleMs`. */
  #prune(): void {
    const since = this.#now() - this.#staleMs;
    for (const [id, { seen }] of this.#remote) {
      if (seen < since) this.#remote.delete(id);
    }
  }

  #emit(event: BoardEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
