/**
 * How an upload in progress tells the other instances it is alive: every
 * `everyMs` it writes the empty object `live/<id>`, whose LastModified the
 * crash sweep reads. Without it, a sweep could only go by the multipart
 * upload's start, and an instance starting up (a rolling restart) would
 * abort another instance's upload that is simply long, not abandoned: the
 * idle timeout bounds a pause, not an upload's length, and parts (8 MiB)
 * come too seldom from a slow client to tell either.
 *
 * @module
 */

import type { S3Bucket } from "./s3_bucket.ts";
import { keysUnder } from "./s3_listing.ts";

const LIVE = /^live\/([0-9a-f]{32})$/;

/** The liveness key of upload `id`. */
export function liveKey(id: string): string {
  return `live/${id}`;
}

/** Writes `live/<id>` every `everyMs` until stopped. */
export class Heartbeat {
  readonly #bucket: S3Bucket;
  readonly #key: string;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #cutOff = new AbortController();
  #beat: Promise<void> | undefined;
  #sent = false;
  #stopped = false;

  /** Starts beating; the first beat comes after `everyMs`. */
  constructor(bucket: S3Bucket, id: string, everyMs: number) {
    this.#bucket = bucket;
    this.#key = liveKey(id);
    this.#timer = setInterval(() => this.#send(), everyMs);
  }

  /**
   * Stops beating, lets a beat under way end, then removes `live/<id>` if a
   * beat was sent: the DELETE follows the last PUT's answer, so no beat
   * lands after it (a beat cut off here could, on a loaded store, and stay
   * until a sweep). For an upload that ends well (the store answers).
   */
  async stop(): Promise<void> {
    await this.#end();
  }

  /**
   * Stops beating, cuts off a beat under way, then removes `live/<id>` if
   * a beat was sent. For an upload that failed: a beat waiting on a store
   * that is down would delay the answer; what lands late, the sweep
   * removes.
   */
  async abort(): Promise<void> {
    this.#cutOff.abort();
    await this.#end();
  }

  async #end(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#beat;
    // Any beat sent, even one that failed or was cut off, may have reached
    // the store: delete, which is harmless when there is nothing.
    if (!this.#sent) return;
    // What this leaves (the store failing now), the sweep removes.
    await this.#bucket.run({ method: "DELETE", key: this.#key }).catch(
      () => {},
    );
  }

  #send(): void {
    if (this.#beat) return;
    this.#sent = true;
    this.#beat = this.#bucket.run({
      method: "PUT",
      key: this.#key,
      body: "",
      signal: this.#cutOff.signal,
    }).then(
      () => {},
      // A missed beat is made up by the next; the sweep waits for
      // several to be missed.
      () => {},
    )
      .finally(() => this.#beat = undefined);
  }
}

/**
 * When each upload in progress last beat (ListObjectsV2 of `live/`, every
 * page): id -> milliseconds since the epoch, by the store's clock.
 */
export async function lastBeats(
  bucket: S3Bucket,
): Promise<Map<string, number>> {
  const beats = new Map<string, number>();
  for (const [key, at] of await keysUnder(bucket, "live/")) {
    const id = LIVE.exec(key)?.[1];
    if (id && Number.isFinite(at)) beats.set(id, at);
  }
  return beats;
}
