/**
 * The board of uploads in flight by id, with their live figures: what
 * `GET /uploads` lists and `GET /uploads/events` streams. Each upload is
 * put on the board when admitted (so a second upload of the same id is
 * refused), gives it a way to read its pipeline's figures once its tasks
 * start, and leaves with a `done` or `failed` ending.
 *
 * The figures are read, never pushed: the pipeline only keeps its own
 * counters, and the board reads them when asked and on one shared timer
 * (`intervalMs`, while uploads run and someone listens), which also gives
 * each upload a rate over the last second.
 *
 * ```ts
 * const board = new UploadBoard();
 * const live = board.add("0192a1b2c3d4e5f60718293a4b5c6d7e");
 * // receiveUpload(body, { observe: live.observe, ... })
 * live.end({ kind: "failed", outcome: "aborted", status: 400 });
 * ```
 *
 * @module
 */

import {
  classifyBound,
  type LiveFigures,
  type UploadBound,
  type UploadResult,
} from "./upload_figures.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Default time between two progress ticks: 250 ms. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 250;

// The rate is over this window.
const RATE_WINDOW_MS = 1000;
// Samples closer than this to the last one replace it (a tight polling
// loop cannot grow the sample list).
const MIN_SAMPLE_GAP_MS = 50;

/** One upload in flight, as listed and streamed. */
export interface UploadProgress
  extends Omit<LiveFigures, "size" | "bodyBytes"> {
  id: string;
  /** When it was admitted (ISO 8601). */
  startedAt: string;
  /** Since it was admitted. */
  elapsedMs: number;
  /** Body bytes received so far. */
  bytesReceived: number;
  /** The body length the request declared, when it did. */
  declaredLength?: number;
  /**
   * Body bytes per second over the last second: the whole body's, so a
   * form's fields count (they showed 0 B/s until its file part began).
   */
  bytesPerSecond: number;
  /** What bounds the upload so far (see `classifyBound`). */
  bound: UploadBound;
}

/** How an upload ended. */
export type UploadEnding =
  | { kind: "done"; result: UploadResult }
  | { kind: "failed"; outcome: string; status: number };

/** What listeners of the board receive. */
export type BoardEvent =
  | { type: "progress"; uploads: UploadProgress[] }
  | { type: "done"; id: string; result: UploadResult }
  | {
    type: "failed";
    progress: UploadProgress;
    outcome: string;
    status: number;
  };

/** An upload's ending, as the board emits it. */
export type EndingEvent = Extract<BoardEvent, { type: "done" | "failed" }>;

/**
 * Whether `ending` is how the upload of its id ended. An attempt refused
 * because its id was taken (409 `conflict`: a file of that id is stored,
 * or another upload of it runs, here or in another process) ends only
 * itself: the upload that holds the id ends on its own, and its ending,
 * not the refusal, is what the id's subscribers and late comers get.
 */
export function endsTheId(ending: EndingEvent): boolean {
  return ending.type === "done" || ending.outcome !== "conflict";
}

/** An upload's handle on the board. */
export interface LiveUpload {
  /** Gives the board the pipeline's figures (`receiveUpload`'s `observe`). */
  observe(figures: () => LiveFigures): void;
  /** Takes the upload off the board; later calls do nothing. */
  end(ending: UploadEnding): void;
}

/** What {@linkcode UploadBoard.add} knows of an upload. */
export interface UploadFacts {
  /** The declared body length. */
  declaredLength?: number | undefined;
  /** The queue capacity, shown until the tasks start. */
  queueCapacityBytes?: number;
}

interface Entry {
  id: string;
  started: number;
  startedAt: string;
  facts: UploadFacts;
  figures: (() => LiveFigures) | undefined;
  samples: [number, number][];
}

/** Options of {@linkcode UploadBoard}. */
export interface UploadBoardOptions {
  /** Time between progress ticks. @default {250} */
  intervalMs?: number;
  /** Called with each upload's id as it is put on the board. */
  onStart?: (id: string) => void;
  /** Called with each ending, whether or not anyone listens. */
  onEnding?: (ending: EndingEvent) => void;
}

const NO_FIGURES: LiveFigures = {
  size: 0,
  readerWaitMs: 0,
  readerBlockedMs: 0,
  writerWriteMs: 0,
  writerIdleMs: 0,
  writerHashWaitMs: 0,
  queuedBytes: 0,
  queueCapacityBytes: 0,
  maxQueuedBytes: 0,
};

/** The uploads in flight by id; see the module doc. */
export class UploadBoard {
  readonly #intervalMs: number;
  readonly #onStart: ((id: string) => void) | undefined;
  readonly #onEnding: ((ending: EndingEvent) => void) | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: BoardEvent) => void>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Validates the options; throws `RangeError` on a bad interval. */
  constructor(options: UploadBoardOptions = {}) {
    const { intervalMs = DEFAULT_PROGRESS_INTERVAL_MS } = options;
    checkWholeNumbers({ intervalMs });
    this.#intervalMs = intervalMs;
    this.#onStart = options.onStart;
    this.#onEnding = options.onEnding;
  }

  /** Uploads on the board now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether an upload of `id` is running. */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /**
   * Puts upload `id` on the board; throws a `TypeError` if it is already
   * there (check {@linkcode has} first).
   */
  add(id: string, facts: UploadFacts = {}): LiveUpload {
    if (this.#entries.has(id)) throw new TypeError(`${id} is running`);
    const entry: Entry = {
      id,
      started: performance.now(),
      startedAt: new Date().toISOString(),
      facts,
      figures: undefined,
      samples: [],
    };
    this.#entries.set(id, entry);
    this.#onStart?.(id);
    this.#schedule();
    let ended = false;
    return {
      observe: (figures) => void (entry.figures = figures),
      end: (ending) => {
        if (ended) return;
        ended = true;
        this.#end(entry, ending);
      },
    };
  }

  /** Every upload in flight with its figures now, oldest first. */
  list(): UploadProgress[] {
    const now = performance.now();
    return [...this.#entries.values()].map((entry) => progressOf(entry, now));
  }

  /**
   * Calls `listener` with every tick's progress and every ending; returns
   * the function that stops it.
   */
  listen(listener: (event: BoardEvent) => void): () => void {
    this.#listeners.add(listener);
    this.#schedule();
    return () => {
      this.#listeners.delete(listener);
      this.#schedule();
    };
  }

  #end(entry: Entry, ending: UploadEnding): void {
    const progress = progressOf(entry, performance.now());
    this.#entries.delete(entry.id);
    this.#schedule();
    const event: EndingEvent = ending.kind === "done"
      ? { type: "done", id: entry.id, result: ending.result }
      : { type: "failed", progress, ...ending };
    this.#onEnding?.(event);
    this.#emit(event);
  }

  #emit(event: BoardEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** The timer runs while uploads run and someone listens, only then. */
  #schedule(): void {
    const wanted = this.#entries.size > 0 && this.#listeners.size > 0;
    if (wanted && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    } else if (!wanted && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #tick(): void {
    this.#emit({ type: "progress", uploads: this.list() });
  }
}

/** The figures of `entry` at `now`; records a rate sample. */
function progressOf(entry: Entry, now: number): UploadProgress {
  const { size, bodyBytes = size, ...figures } = entry.figures?.() ?? {
    ...NO_FIGURES,
    queueCapacityBytes: entry.facts.queueCapacityBytes ?? 0,
  };
  const { declaredLength } = entry.facts;
  return {
    id: entry.id,
    startedAt: entry.startedAt,
    elapsedMs: Math.round(now - entry.started),
    bytesReceived: size,
    ...(declaredLength === undefined ? {} : { declaredLength }),
    bytesPerSecond: rateOf(entry, now, bodyBytes),
    ...figures,
    bound: classifyBound(figures),
  };
}

/**
 * Bytes per second over the last second: from the newest sample at least
 * a second old (or the start) to now. Samples are taken when figures are
 * read (each tick), so the list stays a few entries long.
 */
function rateOf(entry: Entry, now: number, bytes: number): number {
  const samples = entry.samples;
  const last = samples.at(-1);
  if (last && now - last[0] < MIN_SAMPLE_GAP_MS) samples.pop();
  samples.push([now, bytes]);
  while (samples.length > 2 && samples[1]![0] <= now - RATE_WINDOW_MS) {
    samples.shift();
  }
  const [since, before] =
    samples.length > 1 && samples[0]![0] <= now - RATE_WINDOW_MS
      ? samples[0]!
      : [entry.started, 0];
  const span = Math.max(now - since, 1);
  return Math.round(((bytes - before) * 1000) / span);
}
