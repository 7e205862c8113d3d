/**
 * A request body's `Content-Encoding` (RFC 9110 8.4): the codings a body
 * is decoded from as it streams (`gzip`, `deflate`, as Express's
 * body-parser and so json-server take them), for the JSON writes and the
 * uploads alike, and the 415 with the `Accept-Encoding` that names them,
 * refusing any other (RFC 9110 12.5.3).
 *
 * @example Usage
 * ```ts
 * import { decodedBody, requestCoding } from "./request_coding.ts";
 *
 * const req = new Request("http://x/", {
 *   method: "POST",
 *   headers: { "content-encoding": "GZIP" },
 *   body: new Uint8Array(0),
 * });
 * const coding = requestCoding(req.headers.get("content-encoding"));
 * coding; // "gzip"
 * if (coding !== undefined) decodedBody(req.body!, coding);
 * ```
 *
 * @module
 */

import { FrameFloor } from "./frame_floor.ts";
import { Inflater } from "./inflater.ts";
import { problem } from "./problem.ts";

/** A coding a request body can be decoded from; `identity` is none. */
export type RequestCoding = "gzip" | "deflate" | "identity";

/** The value of `Accept-Encoding` on a 415 for another coding. */
export const ACCEPTED_REQUEST_CODINGS = "gzip, deflate";

/**
 * The coding named by a `Content-Encoding` value, `identity` when it is
 * absent or empty, or `undefined` for one not taken (another coding, or
 * several in a row: body-parser takes exactly one).
 */
export function requestCoding(
  contentEncoding: string | null,
): RequestCoding | undefined {
  const name = (contentEncoding ?? "").trim().toLowerCase();
  if (name === "" || name === "identity") return "identity";
  return name === "gzip" || name === "deflate" ? name : undefined;
}

/**
 * The 415 for a `Content-Encoding` not taken, naming the ones taken (RFC
 * 9110 12.5.3), at `instance`, with `headers` besides `Accept-Encoding`.
 */
export function unsupportedCoding(
  instance: string,
  headers: Record<string, string> = {},
): Response {
  return problem(415, {
    detail:
      `The body's Content-Encoding is not one taken: send it as is, or in one of ${ACCEPTED_REQUEST_CODINGS}`,
    instance,
  }, {
    headers: { ...headers, "accept-encoding": ACCEPTED_REQUEST_CODINGS },
  });
}

/** A body that is not in the coding its `Content-Encoding` names. */
export class BodyCodingError extends Error {
  /** Creates the error for a body that `coding` could not decode. */
  constructor(coding: RequestCoding, options?: ErrorOptions) {
    super(`The body is not valid ${coding}`, options);
    this.name = "BodyCodingError";
  }
}

// The body is read into one reused buffer of this size (a request body's
// chunks are at most 64 KiB), and a reader that brings no buffer of its
// own gets the decoded bytes in new buffers of this size.
const CHUNK_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * `body` decoded from `coding` (`deflate` is the zlib format, as HTTP
 * names it; gzip may be several members, RFC 1952 2.2) as it streams; as
 * it is for `identity`. The result is a byte stream: a BYOB reader gets
 * the decoded bytes straight into its views, so a decoded chunk is never
 * larger than the view read into and nothing is allocated per chunk
 * (`body` itself is read into one reused buffer when it is a byte stream,
 * as request bodies are). Nothing is decoded before it is read. Zeros
 * after the end of the coded data are padding (tar, dd), skipped; other
 * bytes there, or data not in the coding, error the stream with
 * {@linkcode BodyCodingError}; `body`'s own errors (a client gone) come
 * through as they are.
 */
export function decodedBody(
  body: ReadableStream<Uint8Array>,
  coding: RequestCoding,
): ReadableStream<Uint8Array> {
  if (coding === "identity") return body;
  const decoder = new BodyDecoder(body, coding);
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: CHUNK_BYTES,
    pull: (controller) => decoder.pull(controller),
    cancel: (reason) => decoder.cancel(reason),
  }, { highWaterMark: 0 });
}

/** The input side of a {@linkcode BodyDecoder}: the coded body's bytes. */
class CodedInput {
  /** What is left of the last read. */
  chunk: Uint8Array = EMPTY;
  /** Whether the body has ended. */
  ended = false;
  readonly #byob: ReadableStreamBYOBReader | undefined;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #buffer: ArrayBuffer | undefined;
  // A pull may read many coded chunks that decode to nothing (padding, a
  // gzip comment, empty deflate blocks): the reads must let the loop turn
  // (frame_floor.ts). Tiny frames decoding to a lot still count as tiny.
  readonly #frames = new FrameFloor();

  constructor(body: ReadableStream<Uint8Array>) {
    try {
      this.#byob = body.getReader({ mode: "byob" });
      this.#buffer = new ArrayBuffer(CHUNK_BYTES);
    } catch (error) {
      // Only byte streams take BYOB readers; others are read as they are.
      if (!(error instanceof TypeError)) throw error;
      this.#reader = body.getReader();
    }
  }

  /** Reads the next bytes into `chunk`, or sets `ended`. */
  async read(): Promise<void> {
    // The read detaches the buffer that the spent chunk is a view of.
    this.chunk = EMPTY;
    const result = this.#byob
      ? await this.#byob.read(new Uint8Array(this.#buffer!))
      : await this.#reader!.read();
    if (this.#byob && result.value) {
      // The read transferred the buffer: keep what it became.
      this.#buffer = result.value.buffer as ArrayBuffer;
    }
    if (result.done) {
      this.ended = true;
      return;
    }
    if (!(result.value instanceof Uint8Array)) {
      throw new TypeError("A coded body's chunks must be Uint8Arrays");
    }
    this.chunk = result.value;
    const turn = this.#frames.afterRead(this.chunk.byteLength);
    if (turn) await turn;
  }

  /**
   * Cancels the body. A request's comes through answered_body.ts
   * `cancelledOnceAnswered`, which lets the runtime's body go only once the
   * answer is out: cancelled at once, a body behind with tiny frames went
   * through every frame the runtime held with no turn of the loop.
   */
  async cancel(reason: unknown): Promise<void> {
    this.close();
    await (this.#byob ?? this.#reader)!.cancel(reason);
  }

  /** Stops watching the reads (the body ended, failed or was cancelled). */
  close(): void {
    this.#frames[Symbol.dispose]();
  }
}

/**
 * Decodes one coded body into the views a byte stream's reads bring (see
 * {@linkcode decodedBody}).
 */
class BodyDecoder {
  readonly #coding: "gzip" | "deflate";
  readonly #input: CodedInput;
  readonly #inflater: Inflater;
  // The last decode filled its view: the inflater may hold more output
  // without any new input.
  #full = false;
  // The coded data ended: only zeros may follow.
  #padded = false;
  #done = false;

  constructor(body: ReadableStream<Uint8Array>, coding: "gzip" | "deflate") {
    this.#coding = coding;
    this.#input = new CodedInput(body);
    this.#inflater = new Inflater(coding);
  }

  /** Fills the pending read's view with decoded bytes, or closes. */
  async pull(controller: ReadableByteStreamController): Promise<void> {
    // autoAllocateChunkSize gives every read a view, BYOB or not.
    const request = controller.byobRequest!;
    try {
      const written = await this.#decodeInto(request.view as Uint8Array);
      if (written > 0) return request.respond(written);
      this.#inflater.close();
      this.#input.close();
      controller.close();
      request.respond(0);
    } catch (error) {
      this.#inflater.close();
      this.#input.cancel(error).catch(() => {});
      throw error;
    }
  }

  /** Stops decoding, and cancels the body. */
  async cancel(reason: unknown): Promise<void> {
    this.#inflater.close();
    await this.#input.cancel(reason);
  }

  /**
   * Decodes into `view`; resolves how many bytes, 0 once the coded data
   * and the body have both ended (the body is read to its end, so
   * whatever checks it there has spoken).
   */
  async #decodeInto(view: Uint8Array): Promise<number> {
    const input = this.#input;
    while (!this.#done) {
      if (input.chunk.byteLength === 0 && !input.ended && !this.#full) {
        await input.read();
        continue;
      }
      if (this.#padded) {
        this.#skipPadding();
        continue;
      }
      const { read, written } = this.#step(view);
      input.chunk = input.chunk.subarray(read);
      this.#full = written === view.byteLength;
      // Room left in the view with input still there: the coded data
      // ended before the body did.
      if (!this.#full && input.chunk.byteLength > 0) this.#padded = true;
      else if (!this.#full && input.ended) this.#done = true;
      if (written > 0) return written;
    }
    return 0;
  }

  /**
   * Takes the bytes after the end of the coded data: zeros, as tar and dd
   * pad a file to their block (node's zlib, so body-parser, skips them
   * too); anything else is refused rather than dropped, as the file would
   * be stored cut short of what was sent.
   */
  #skipPadding(): void {
    const input = this.#input;
    if (input.chunk.some((byte) => byte !== 0)) throw this.#trailing();
    input.chunk = input.chunk.subarray(input.chunk.byteLength);
    if (input.ended) this.#done = true;
  }

  /** One decode into `view`: from the input, or to the end once it ended. */
  #step(view: Uint8Array) {
    const input = this.#input;
    try {
      return input.ended
        ? this.#inflater.finish(view)
        : this.#inflater.inflate(input.chunk, view);
    } catch (error) {
      throw new BodyCodingError(this.#coding, { cause: error });
    }
  }

  #trailing(): BodyCodingError {
    return new BodyCodingError(this.#coding, {
      cause: new Error(
        "bytes other than zeros after the end of the coded data",
      ),
    });
  }
}
