/**
 * The subscribers of `GET /uploads/events`: each gets a bounded
 * {@linkcode EventStream} fed from the {@linkcode UploadBoard}, with a
 * `progress` event per upload per tick and one `done` or `failed` event
 * when it ends. A subscriber of one upload id gets only that upload's
 * events, and its stream ends after that upload's ending. Each event is
 * encoded once, whatever the number of subscribers.
 *
 * Bounded on every side: at most `maxWatchers` subscribers (more are
 * refused), and at most `maxPerClient` of them from one client address, so
 * one client cannot take every place (a quiet stream stays open for ever:
 * 64 `curl -N` from one address refused every other page's progress); a
 * subscriber whose queue is full is dropped, so a slow reader
 * never holds events in memory or slows an upload (the board's listeners
 * only enqueue); a client that goes away is removed at once. The board's
 * timer and the heartbeat timer run only while someone watches.
 *
 * The board holds this process's uploads only, while an upload may run in
 * another process sharing the storage: another worker of
 * `deno serve --parallel` (the kernel spreads connections over them) or
 * another instance behind a load balancer. A subscriber of such an id
 * heard nothing, ever, and the upload page waited on it for good. With
 * `storedFile`, the storage is asked about each watched id that is not on
 * the board (at once, then every `storedPollMs`): once the file is there,
 * its facts are sent as `done` and the stream ends as for an upload here.
 * With `remote` (the other instances' uploads heard over Redis, see
 * `relay.ts`), their `progress`, `done` and `failed` events reach the
 * subscribers as this process's own do; the storage poll stays, for a
 * process without Redis and for an ending lost on the way (an id heard of
 * running elsewhere is not asked about: its relayed ending carries its
 * figures; once no longer heard of, it is asked again). With `endings`
 * (`endings.ts`), a subscriber who comes after the upload ended, here or
 * elsewhere, gets its ending at once, `failed` included (the storage
 * knows stored files only), and the poll asks there too.
 *
 * @module
 */

import { concat } from "../http/bytes_concat.ts";
import {
  EventStream,
  type EventStreamEnd,
  serverSentComment,
  serverSentEvent,
} from "../http/event_stream.ts";
import {
  type BoardEvent,
  type EndingEvent,
  endsTheId,
  type UploadBoard,
  type UploadProgress,
} from "./board.ts";
import { ClientCounts } from "../http/client_counts.ts";
import { type RecentEndings, streamedEnding } from "./endings.ts";
import type { UploadRelay } from "./relay.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Default cap on subscribers. */
export const DEFAULT_MAX_WATCHERS = 64;
/** Default cap on subscribers from one client address. */
export const DEFAULT_MAX_WATCHERS_PER_CLIENT = 8;
/** Default time between heartbeat comments: 15 s. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Default most bytes queued per subscriber: 1 MiB (seconds of events). */
export const DEFAULT_WATCHER_QUEUE_BYTES = 1024 * 1024;
/** Default time between questions to the storage about an id: 1 s. */
export const DEFAULT_STORED_POLL_MS = 1_000;

/** What happened to a subscriber, for metrics. */
export type WatcherChange = "opened" | "refused" | EventStreamEnd;

/** Options of {@linkcode UploadWatchers}. */
export interface UploadWatchersOptions {
  /** Where the uploads are. */
  board: UploadBoard;
  /** Most subscribers at once. @default {64} */
  maxWatchers?: number;
  /** Most subscribers at once from one client address (0: no cap). @default {8} */
  maxPerClient?: number;
  /** Time between heartbeat comments. @default {15000} */
  heartbeatMs?: number;
  /** Most bytes queued per subscriber. @default {1048576} */
  maxQueuedBytes?: number;
  /** Observes subscribers coming and going (metrics). */
  onChange?: (change: WatcherChange) => void;
  /**
   * The stored file `id`'s facts, `undefined` while there is none: how an
   * upload that ran in another process ended (see the module doc). A
   * rejection counts as not yet (asked again at the next poll).
   */
  storedFile?: (id: string) => Promise<object | undefined>;
  /** Time between questions to `storedFile` about an id. @default {1000} */
  storedPollMs?: number;
  /** The uploads of other instances, when relayed (see the module doc). */
  remote?: RemoteUploads;
  /** The endings of recent uploads (`RecentEndings`, see the module doc). */
  endings?: PastEndings;
}

/** The endings of recent uploads. */
export type PastEndings = Pick<RecentEndings, "recall" | "lookup">;
/** Uploads running elsewhere, and their events. */
export type RemoteUploads = Pick<UploadRelay, "list" | "has" | "listen">;

interface Watcher {
  stream: EventStream;
  /** Only this upload's events, when set. */
  id: string | undefined;
  /** The client's address, when known. */
  client: string | undefined;
}

/** Options of {@linkcode UploadWatchers.open}. */
export interface OpenWatcherOptions {
  /**
   * The subscriber's address, counted against `maxPerClient`; without it
   * only `maxWatchers` applies.
   */
  client?: string | undefined;
}

/**
 * The `id` of an upload's ending event (`done` or `failed`) on a stream of
 * that upload alone. EventSource reconnects by itself once the stream
 * ends, sending it as `Last-Event-ID`: that request is answered 204 (the
 * upload is over), after which EventSource stops, instead of a stream
 * that would wait for ever holding a subscriber's place.
 */
export const ENDED_EVENT_ID = "ended";

// Sent first: how long EventSource waits before reconnecting.
const RETRY = new TextEncoder().encode("retry: 2000\n\n");

/** The subscribers of the upload events; see the module doc. */
export class UploadWatchers {
  readonly #o: Required<
    Omit<
      UploadWatchersOptions,
      "onChange" | "storedFile" | "remote" | "endings"
    >
  >;
  readonly #onChange: ((change: WatcherChange) => void) | undefined;
  readonly #storedFile: UploadWatchersOptions["storedFile"];
  readonly #remote: RemoteUploads | undefined;
  readonly #endings: PastEndings | undefined;
  /** Ids whose question to `storedFile` is under way. */
  readonly #asking = new Set<string>();
  #poll: ReturnType<typeof setInterval> | undefined;
  readonly #watchers = new Set<Watcher>();
  /** Subscribers per client address. */
  readonly #perClient = new ClientCounts();
  #stopListening: (() => void) | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** Validates the options; throws `RangeError` on bad values. */
  constructor(options: UploadWatchersOptions) {
    const {
      board,
      maxWatchers = DEFAULT_MAX_WATCHERS,
      maxPerClient = DEFAULT_MAX_WATCHERS_PER_CLIENT,
      heartbeatMs = DEFAULT_HEARTBEAT_MS,
      maxQueuedBytes = DEFAULT_WATCHER_QUEUE_BYTES,
      storedPollMs = DEFAULT_STORED_POLL_MS,
    } = options;
    checkWholeNumbers({ maxPerClient }, { min: 0 });
    checkWholeNumbers({ maxWatchers, heartbeatMs, storedPollMs });
    this.#o = {
      board,
      maxWatchers,
      maxPerClient,
      heartbeatMs,
      maxQueuedBytes,
      storedPollMs,
    };
    this.#onChange = options.onChange;
    this.#storedFile = options.storedFile;
    this.#remote = options.remote;
    this.#endings = options.endings;
  }

  /** Subscribers now. */
  get count(): number {
    return this.#watchers.size;
  }

  /** Whether `client` holds `maxPerClient` subscribers already. */
  fullFor(client: string | undefined): boolean {
    const { maxPerClient } = this.#o;
    return client !== undefined && maxPerClient > 0 &&
      this.#perClient.of(client) >= maxPerClient;
  }

  /**
   * A new subscriber's stream (only upload `id`'s events when given), or
   * `undefined` when `maxWatchers` subscribe already, the client holds
   * `maxPerClient` ({@linkcode fullFor} tells which), or after
   * {@linkcode close}. The uploads running now are sent at once.
   */
  open(id?: string, options: OpenWatcherOptions = {}): EventStream | undefined {
    const { client } = options;
    if (
      this.#closed || this.#watchers.size >= this.#o.maxWatchers ||
      this.fullFor(client)
    ) {
      this.#onChange?.("refused");
      return undefined;
    }
    const watcher: Watcher = {
      id,
      client,
      stream: new EventStream({
        maxQueuedBytes: this.#o.maxQueuedBytes,
        onClose: (why) => this.#remove(watcher, why),
      }),
    };
    this.#watchers.add(watcher);
    if (client !== undefined) this.#perClient.add(client);
    this.#onChange?.("opened");
    watcher.stream.send(RETRY);
    for (const progress of this.list()) {
      if (id === undefined || progress.id === id) {
        watcher.stream.send(serverSentEvent("progress", progress));
      }
    }
    this.#update();
    if (id === undefined) return watcher.stream;
    // Ended here, or heard of ending elsewhere, before the subscriber came.
    const ended = this.#running(id) ? undefined : this.#endings?.recall(id);
    if (ended !== undefined) this.#ended(ended);
    // Else maybe stored, or ended elsewhere.
    else this.#ask(id);
    return watcher.stream;
  }

  /** The uploads in flight here, then those heard of elsewhere. */
  list(): UploadProgress[] {
    const here = this.#o.board.list();
    const remote = this.#remote?.list() ?? [];
    if (remote.length === 0) return here;
    const ids = new Set(here.map(({ id }) => id));
    return here.concat(remote.filter(({ id }) => !ids.has(id)));
  }

  /** Ends every stream (after its queued events) and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const watcher of [...this.#watchers]) watcher.stream.close();
  }

  #remove(watcher: Watcher, why: EventStreamEnd): void {
    if (!this.#watchers.delete(watcher)) return;
    const { client } = watcher;
    if (client !== undefined) this.#perClient.remove(client);
    this.#onChange?.(why);
    this.#update();
  }

  /** Listens to the board and beats only while someone watches. */
  #update(): void {
    const watched = this.#watchers.size > 0;
    if (watched && this.#stopListening === undefined) {
      const fanOut = (event: BoardEvent) => this.#fanOut(event);
      const stopBoard = this.#o.board.listen(fanOut);
      const stopRemote = this.#remote?.listen(fanOut);
      this.#stopListening = () => {
        stopBoard();
        stopRemote?.();
      };
      const beat = serverSentComment("heartbeat");
      this.#heartbeat = setInterval(() => {
        for (const { stream } of [...this.#watchers]) stream.send(beat);
      }, this.#o.heartbeatMs);
      if (this.#storedFile || this.#endings) {
        this.#poll = setInterval(() => this.#askAll(), this.#o.storedPollMs);
      }
    } else if (!watched && this.#stopListening !== undefined) {
      this.#stopListening();
      this.#stopListening = undefined;
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
      clearInterval(this.#poll);
      this.#poll = undefined;
    }
  }

  /** Asks the storage about every id watched and not running here. */
  #askAll(): void {
    for (const { id } of this.#watchers) {
      if (id !== undefined) this.#ask(id);
    }
  }

  /** Whether upload `id` runs here, or is heard of running elsewhere. */
  #running(id: string): boolean {
    return this.#o.board.has(id) || this.#remote?.has(id) === true;
  }

  /**
   * Asks how upload `id` ended (`endings`), else whether the storage holds
   * it, unless it is running (its ending, with its figures, will come) or
   * a question is under way; sends the ending, or `done` with the file's
   * facts.
   */
  #ask(id: string): void {
    const storedFile = this.#storedFile;
    const endings = this.#endings;
    if (!storedFile && !endings) return;
    if (this.#asking.has(id) || this.#running(id)) return;
    this.#asking.add(id);
    const none = () => undefined;
    Promise.all([
      endings?.lookup(id).catch(none),
      storedFile?.(id).catch(none),
    ]).then(([ending, file]) => {
      // An upload here that began meanwhile sends its own ending.
      if (this.#o.board.has(id)) return;
      // Not to the subscribers of every upload: they never saw it run.
      if (ending !== undefined) this.#ended(ending);
      else if (file !== undefined) this.#endFor(id, "done", file);
    }).finally(() => this.#asking.delete(id));
  }

  /** Sends an ending met late to its upload's own subscribers. */
  #ended(ending: EndingEvent): void {
    const [event, data] = streamedEnding(ending);
    this.#endFor(data.id, event, data);
  }

  /**
   * A tick's progress, or an ending: every upload's subscribers get it,
   * and the streams of its own end with it ({@linkcode ENDED_EVENT_ID}),
   * but for a refusal of a taken id: the upload holding the id (or the
   * storage poll) sends the id's ending.
   */
  #fanOut(event: BoardEvent): void {
    if (event.type === "progress") return this.#progress(event.uploads);
    const [name, data] = streamedEnding(event);
    const plain = serverSentEvent(name, data);
    for (const watcher of this.#watchers) {
      if (watcher.id === undefined) watcher.stream.send(plain);
    }
    if (endsTheId(event)) this.#endFor(data.id, name, data);
  }

  /** Sends `event` to upload `id`'s own subscribers and ends their streams. */
  #endFor(id: string, event: string, data: unknown): void {
    const ended = serverSentEvent(event, data, { id: ENDED_EVENT_ID });
    for (const watcher of [...this.#watchers]) {
      if (watcher.id === id) {
        watcher.stream.send(ended);
        watcher.stream.close();
      }
    }
  }

  /**
   * One tick's progress: each upload's event encoded once, and one chunk
   * per subscriber (its uploads' events together).
   */
  #progress(uploads: UploadProgress[]): void {
    if (uploads.length === 0) return;
    const events = new Map(
      uploads.map((p) => [p.id, serverSentEvent("progress", p)]),
    );
    const all = concat([...events.values()]);
    for (const watcher of [...this.#watchers]) {
      const bytes = watcher.id === undefined ? all : events.get(watcher.id);
      if (bytes) watcher.stream.send(bytes);
    }
  }
}
