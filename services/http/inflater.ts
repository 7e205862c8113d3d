/**
 * A zlib inflater (gzip, with its members one after another as RFC 1952
 * allows, or the zlib format that HTTP calls `deflate`) that decodes into
 * views its caller provides, at most a view's length at a time.
 *
 * Every decoder the runtime offers publicly hands out what it decodes in
 * buffers of its own, a new one per chunk: `DecompressionStream` gives all
 * that one write decodes to at once (64 MiB for 64 KiB of a gzip bomb),
 * node:zlib's streams a new `chunkSize` buffer each time. Dropped at once,
 * those buffers are still garbage that V8 collects only once tens of MiB
 * of it piled up: decoding 1 GiB of zeros grew the resident set by 95 MiB
 * (`DecompressionStream` fed 8 KiB at a time) and 116 MiB (`createGunzip`,
 * 64 KiB chunks), while writing into one reused buffer grew it by 11 MiB
 * and took a seventh of the CPU. So this drives the zlib handle under
 * node:zlib's `Gunzip`/`Inflate` (`_handle.writeSync`, the call node:zlib's
 * own synchronous API makes), which writes into the view given. The
 * handle is checked for when an inflater is made, and its tests run
 * against the runtime's own.
 *
 * @example Usage
 * ```ts
 * import { gzipSync } from "node:zlib";
 * import { Inflater } from "./inflater.ts";
 *
 * const coded = gzipSync(new TextEncoder().encode("hello"));
 * const inflater = new Inflater("gzip");
 * const out = new Uint8Array(64);
 * const { read, written } = inflater.inflate(coded, out);
 * read; // coded.byteLength
 * new TextDecoder().decode(out.subarray(0, written)); // "hello"
 * inflater.finish(out); // throws if the coded data were cut short
 * inflater.close();
 * ```
 *
 * @module
 */

import zlib from "node:zlib";

/** The formats an {@linkcode Inflater} decodes. */
export type InflateFormat = "gzip" | "deflate";

/** What one call of {@linkcode Inflater.inflate} did. */
export interface InflateResult {
  /** Bytes of the input taken. */
  read: number;
  /** Bytes written at the start of the output. */
  written: number;
}

/** The coded data are not valid in their format (or were cut short). */
export class InflateError extends Error {
  /** zlib's code, e.g. `Z_DATA_ERROR`. */
  readonly code: string;
  /** Creates the error with zlib's message and code. */
  constructor(message: string, code: string) {
    super(message);
    this.name = "InflateError";
    this.code = code;
  }
}

/** The zlib handle under a node:zlib stream, as node:zlib drives it. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

/** What node:zlib keeps on its streams: the handle and its results. */
interface ZlibInternals {
  _handle?: ZlibHandle | null;
  /** After each write: [output bytes left, input bytes left]. */
  _writeState?: Uint32Array;
}

const { Z_NO_FLUSH, Z_FINISH, Z_MIN_CHUNK } = zlib.constants;
const EMPTY = new Uint8Array(0);

/** Decodes one coded body into caller-provided views; see the module doc. */
export class Inflater {
  readonly #stream: zlib.Gunzip | zlib.Inflate;
  readonly #handle: ZlibHandle;
  readonly #state: Uint32Array;
  #error: InflateError | undefined;

  /** Makes an inflater of `format`; throws TypeError for another format. */
  constructor(format: InflateFormat) {
    if (format !== "gzip" && format !== "deflate") {
      throw new TypeError(`format must be gzip or deflate: ${format}`);
    }
    // The stream's own output buffer is never used: the smallest there is.
    const options = { chunkSize: Z_MIN_CHUNK };
    this.#stream = format === "gzip"
      ? zlib.createGunzip(options)
      : zlib.createInflate(options);
    const { _handle: handle, _writeState: state } = this
      .#stream as unknown as ZlibInternals;
    if (
      typeof handle?.writeSync !== "function" || !(state instanceof Uint32Array)
    ) {
      this.#stream.destroy();
      throw new TypeError("node:zlib of this runtime has no zlib handle");
    }
    this.#handle = handle;
    this.#state = state;
    // The handle reports a failure during writeSync; kept for the caller,
    // in place of node:zlib's stream error (emitted a tick later).
    handle.onerror = (message, errno, code) => {
      this.#error ??= new InflateError(message, code ?? String(errno));
    };
  }

  /**
   * Decodes from `input` into `output` until one of them runs out, or the
   * coded data end (then `read` is less than `input`'s length while
   * `written` is less than `output`'s: what is left of `input` follows the
   * end). Throws {@linkcode InflateError} for data not in the format.
   */
  inflate(input: Uint8Array, output: Uint8Array): InflateResult {
    return this.#write(Z_NO_FLUSH, input, output);
  }

  /**
   * Decodes what is still held into `output`, the input having ended;
   * `written` less than `output`'s length means all of it is out. Throws
   * {@linkcode InflateError} when the coded data were cut short.
   */
  finish(output: Uint8Array): InflateResult {
    return this.#write(Z_FINISH, EMPTY, output);
  }

  /** Frees zlib's memory now rather than at some later collection. */
  close(): void {
    this.#stream.destroy();
  }

  #write(flush: number, input: Uint8Array, output: Uint8Array): InflateResult {
    if (this.#error) throw this.#error;
    this.#handle.writeSync(
      flush,
      input,
      0,
      input.byteLength,
      output,
      0,
      output.byteLength,
    );
    if (this.#error) throw this.#error;
    return {
      read: input.byteLength - this.#state[1]!,
      written: output.byteLength - this.#state[0]!,
    };
  }
}
