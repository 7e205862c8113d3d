/**
 * Chunked request bodies whose read waits while the process grows: what
 * Deno 2.9.6's HTTP/1.1 server does with a trailer section that does not
 * end. After the last chunk (`0\r\n`) it reads the trailer fields into
 * memory, with no bound, until the blank line that ends them; the body's
 * read stays pending meanwhile, and past ~60-64 KiB of fields (64 KiB
 * ended once, 60 did not another time) even that blank line ends
 * nothing. A raw socket sending `X-Y: bbb...\r\n` lines without end
 * after a 5-byte body took the process from 116 MB to 4.6 GB in 30 s on
 * `POST /posts` (its body timeout), and to 1.2 GB in 10 s on
 * `POST /files` (the rate floor); the memory came back when the
 * connection closed. The handler sees only a read that waits, as for a
 * client gone silent, so the one sign is the process growing meanwhile.
 *
 * Each watched body tells when its read under way began; while any is
 * watched, the process's RSS is sampled every {@linkcode SAMPLE_MS}, and a
 * read that has waited {@linkcode MIN_WAIT_MS} or more while RSS grew by
 * {@linkcode FLOOD_BYTES} or more is given up with
 * {@linkcode TrailerFloodError} (431, connection closed). Only bodies
 * without `Content-Length` are watched (a trailer section follows chunks
 * only). A silent chunked body that happens to wait while other traffic
 * grows the process by as much is given up too: a client that had sent
 * nothing for a second or more.
 *
 * @module
 */

import { problem } from "./problem.ts";

/**
 * RSS growth, while a read waits, that gives the body up: 256 MiB. Well
 * above what the service's own work grows it by while a client pauses
 * (an S3 upload's part buffers and fetch's copies: ~70 MiB over http,
 * ~200 MiB over https; a listing's re-read at 100k files ~50 MB), so a
 * paused chunked upload beside them is not taken for a flood.
 */
export const FLOOD_BYTES = 256 * 1024 * 1024;
/** How long a read must have waited before it may be given up. */
export const MIN_WAIT_MS = 1_000;
/** How often RSS is sampled while a body is watched. */
export const SAMPLE_MS = 250;
// A read waiting longer is measured from the oldest sample kept: a body
// waits at most its timeout (30 s by default) anyway.
const KEEP_SAMPLES = 240;

const MiB = 1024 * 1024;

/** A watched body's read waited while the process grew; see the module doc. */
export class TrailerFloodError extends Error {
  /** How much RSS grew while the read waited, bytes. */
  readonly grownBytes: number;
  /** How long the read had waited, ms. */
  readonly waitedMs: number;
  /** Creates the error. */
  constructor(grownBytes: number, waitedMs: number) {
    super(
      `No body bytes arrived for ${waitedMs} ms while the server took in ` +
        `${Math.round(grownBytes / MiB)} MiB more: a chunked body's ` +
        "trailer section (fields after the last chunk) that does not end",
    );
    this.name = "TrailerFloodError";
    this.grownBytes = grownBytes;
    this.waitedMs = waitedMs;
  }
}

/** A body being read, as {@linkcode watchChunkedBody} watches it. */
export interface WatchedBody {
  /** When the read under way began (`performance.now()`); none: `undefined`. */
  waitingSince(): number | undefined;
  /** Gives the body up. */
  fail(error: TrailerFloodError): void;
}

/** A body being read, as `slow_bodies.ts` counts it. */
export interface BodyRead {
  signal: AbortSignal;
  done: () => void;
}

/**
 * `read` (a small body read whole, a write's JSON), also watched when
 * `headers` give it no `Content-Length`, every moment of its read counting
 * as waiting: its `signal` then aborts with {@linkcode TrailerFloodError}
 * too, and its `done` stops the watch as well.
 */
export function watchWholeBody(read: BodyRead, headers: Headers): BodyRead {
  if (headers.has("content-length")) return read;
  const controller = new AbortController();
  const since = performance.now();
  const unwatch = watchChunkedBody({
    waitingSince: () => since,
    fail: (error) => controller.abort(error),
  });
  return {
    signal: AbortSignal.any([read.signal, controller.signal]),
    done: () => {
      unwatch();
      read.done();
    },
  };
}

/** The answer to `error`: 431, the connection closed (the rest is unread). */
export function floodAnswer(error: TrailerFloodError, url: URL): Response {
  return problem(431, {
    detail: error.message,
    instance: url.pathname,
  }, { headers: { connection: "close" } });
}

interface Sample {
  at: number;
  rss: number;
}

const watched = new Set<WatchedBody>();
let samples: Sample[] = [];
let timer: ReturnType<typeof setInterval> | undefined;

/** Watches `body` until the returned function is called. */
export function watchChunkedBody(body: WatchedBody): () => void {
  watched.add(body);
  if (timer === undefined) {
    sample();
    timer = setInterval(check, SAMPLE_MS);
    // The sampling alone never keeps the process running.
    Deno.unrefTimer(timer);
  }
  return () => {
    watched.delete(body);
    if (watched.size > 0 || timer === undefined) return;
    clearInterval(timer);
    timer = undefined;
    samples = [];
  };
}

function sample(): Sample {
  const taken = { at: performance.now(), rss: Deno.memoryUsage().rss };
  samples.push(taken);
  if (samples.length > KEEP_SAMPLES) samples.shift();
  return taken;
}

/**
 * The RSS when a read that began at `since` began: the last sample taken
 * before it (the first one after may come late, the event loop being busy
 * with the very bytes that grow the process, and the growth measured from
 * it came out short: a flood on `POST /files` beside one on `POST /posts`
 * was answered after 12 s, at 5.5 GB), else the oldest kept.
 */
function rssAt(since: number): number {
  let rss = samples[0]!.rss;
  for (const s of samples) {
    if (s.at > since) break;
    rss = s.rss;
  }
  return rss;
}

function check(): void {
  const now = sample();
  for (const body of watched) {
    const since = body.waitingSince();
    if (since === undefined || now.at - since < MIN_WAIT_MS) continue;
    const grown = now.rss - rssAt(since);
    if (grown < FLOOD_BYTES) continue;
    watched.delete(body);
    body.fail(new TrailerFloodError(grown, Math.round(now.at - since)));
  }
}
