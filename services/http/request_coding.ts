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

// A decoder gives back at once all that one write decodes to: a 64 KiB
// network chunk of a deflate bomb is 64 MiB in one buffer. Fed at most
// this many bytes a write, it gives at most ~8 MiB (deflate's largest
// ratio is about 1032). 8 KiB slices decoded as fast as whole chunks in
// our runs.
const DECODE_SLICE_BYTES = 8 * 1024;

/**
 * `body` decoded from `coding` (`deflate` is the zlib format, as HTTP
 * names it) as it streams, each decoded chunk at most ~8 MiB whatever the
 * ratio; as it is for `identity`. A body that is not in its coding errors
 * the stream with {@linkcode BodyCodingError}; `body`'s own errors (a
 * client gone) come through as they are.
 */
export function decodedBody(
  body: ReadableStream<Uint8Array>,
  coding: RequestCoding,
): ReadableStream<Uint8Array> {
  if (coding === "identity") return body;
  const source = new SlicedBody(body);
  // Typed as taking any BufferSource; Uint8Array chunks are what it gets.
  const decoder = new DecompressionStream(
    coding,
  ) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
  const decoded = source.stream.pipeThrough(decoder).getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result;
      try {
        result = await decoded.read();
      } catch (error) {
        throw source.failed(error)
          ? error
          : new BodyCodingError(coding, { cause: error });
      }
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel: (reason) => decoded.cancel(reason),
  }, { highWaterMark: 0 });
}

/**
 * A body's chunks cut into slices of at most `DECODE_SLICE_BYTES` (views,
 * no copies), and the errors the body itself gave.
 */
class SlicedBody {
  readonly stream: ReadableStream<Uint8Array>;
  #failed = false;
  #failure: unknown = undefined;
  #rest: Uint8Array | undefined;

  constructor(body: ReadableStream<Uint8Array>) {
    const reader = body.getReader();
    this.stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (this.#rest === undefined) {
          let result;
          try {
            result = await reader.read();
          } catch (error) {
            this.#failed = true;
            this.#failure = error;
            throw error;
          }
          if (result.done) return controller.close();
          if (result.value.byteLength > 0) this.#rest = result.value;
        }
        const rest: Uint8Array = this.#rest;
        this.#rest = rest.byteLength > DECODE_SLICE_BYTES
          ? rest.subarray(DECODE_SLICE_BYTES)
          : undefined;
        controller.enqueue(rest.subarray(0, DECODE_SLICE_BYTES));
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
  }

  /** Whether `error` is one the body gave (not the decoder's). */
  failed(error: unknown): boolean {
    return this.#failed && error === this.#failure;
  }
}
