/**
 * A Server-Sent Events response (the `text/event-stream` of the HTML
 * standard) whose queue is bounded: {@linkcode EventStream.send} never
 * waits, and a subscriber whose queue is full (it reads slower than events
 * come) is dropped rather than let the queue grow or the sender wait.
 *
 * The response says `Cache-Control: no-cache, no-transform` (never served
 * from a cache; no compression of the stream, ours or a proxy's, which
 * would hold events back) and `X-Accel-Buffering: no` (nginx passes events
 * on at once). `no-cache` as the HTML standard's examples have it, rather
 * than `no-store`: Chromium reports a `fetch`-read stream sent with
 * `no-store` as aborted (net::ERR_ABORTED) although it read it to the end
 * (microsoft/playwright#42742); a stream that never ends is never stored
 * whole anyway.
 *
 * ```ts
 * const stream = new EventStream({ onClose: (why) => console.log(why) });
 * stream.send(serverSentEvent("progress", { bytes: 10 }));
 * // return stream.response() from the handler
 * ```
 *
 * @module
 */

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Why an {@linkcode EventStream} ended. */
export type EventStreamEnd = "closed" | "slow" | "disconnected";

/** Options of {@linkcode EventStream}. */
export interface EventStreamOptions {
  /**
   * Most bytes queued for the client; a client whose queue would grow past
   * it is dropped. @default {1048576}
   */
  maxQueuedBytes?: number;
  /** Called once when the stream ends, with why. */
  onClose?: (why: EventStreamEnd) => void;
}

const encoder = new TextEncoder();

/** Options of {@linkcode serverSentEvent}. */
export interface ServerSentEventOptions {
  /**
   * The event's `id:` (one line): EventSource sends the last one it saw
   * as `Last-Event-ID` when it reconnects.
   */
  id?: string;
}

/**
 * One event in the wire format: an `id:` line when `options.id` is given,
 * an `event:` line when `event` is, and `data` as one line of JSON.
 */
export function serverSentEvent(
  event: string | undefined,
  data: unknown,
  options: ServerSentEventOptions = {},
): Uint8Array<ArrayBuffer> {
  const { id } = options;
  if (id !== undefined && /[\r\n\0]/.test(id)) {
    throw new TypeError("An event id is one line without NUL");
  }
  const idLine = id === undefined ? "" : `id: ${id}\n`;
  const name = event === undefined ? "" : `event: ${event}\n`;
  return encoder.encode(`${idLine}${name}data: ${JSON.stringify(data)}\n\n`);
}

/** A comment line (ignored by clients; keeps proxies from timing out). */
export function serverSentComment(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
}

/** A bounded event stream to one client; see the module doc. */
export class EventStream {
  readonly #stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  readonly #onClose: ((why: EventStreamEnd) => void) | undefined;

  /** Validates the options; throws `RangeError` on a bad `maxQueuedBytes`. */
  constructor(options: EventStreamOptions = {}) {
    const { maxQueuedBytes = 1024 * 1024, onClose } = options;
    checkWholeNumbers({ maxQueuedBytes });
    this.#onClose = onClose;
    this.#stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      // The client went away (or the response was dropped).
      cancel: () => this.#finish("disconnected"),
    }, new ByteLengthQueuingStrategy({ highWaterMark: maxQueuedBytes }));
  }

  /** Whether the stream ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues `bytes` (an event or comment as made above); resolves nothing
   * and never waits. Returns `false` when the stream has ended, or ends it
   * now because the client's queue is full.
   */
  send(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if ((this.#controller.desiredSize ?? 0) < bytes.byteLength) {
      // Erroring drops the queued events and the connection with them.
      this.#controller.error(new Error("Event subscriber too slow"));
      this.#finish("slow");
      return false;
    }
    this.#controller.enqueue(bytes);
    return true;
  }

  /** Ends the stream after the queued events; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#controller.close();
    this.#finish("closed");
  }

  /** The response that carries the stream, with `headers` added. */
  response(headers: Record<string, string> = {}): Response {
    return new Response(this.#stream, {
      headers: {
        ...headers,
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  #finish(why: EventStreamEnd): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose?.(why);
  }
}
