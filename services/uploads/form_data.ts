/**
 * `multipart/form-data` uploads (browser forms, `curl -F`, python
 * `requests`, most SDKs): the request body is parsed as it streams by
 * `@fastify/busboy`, and the one file part comes out as a
 * `ReadableStream` that the upload pipeline reads like a raw body. Nothing
 * is buffered beyond the parser's small high-water marks: when the file
 * stream is not read, the parser stops taking body chunks, and the body is
 * not read (TCP backpressure reaches the client).
 *
 * The file stream closes only once the whole form has been parsed, so an
 * upload is committed only from a well-formed form with exactly one file
 * part; anything else errors the stream with a {@linkcode FormDataError}
 * (400), and the pipeline keeps nothing. So does a form with more than
 * `maxOtherBytes` (1 MiB) outside its file part: the parser drops a
 * preamble, an epilogue and fields' values, which no other limit counts.
 *
 * ```ts ignore
 * const form = multipartFile(req.body!, req.headers.get("content-type")!);
 * const result = await receiveUpload(form.stream, {
 *   begin, maxBytes, describe: form.describe,
 * });
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import type { FrameFloor } from "../http/frame_floor.ts";
import { uploadedFileName } from "../http/printable_name.ts";
import { DigestMismatchError } from "./errors.ts";
import { SearchableBytes } from "./searchable_bytes.ts";
import { declaredMediaType } from "./media_type.ts";

/** A malformed form, or one without exactly one file part (400). */
export class FormDataError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FormDataError";
  }
}

/** What is known of the file part once it has begun. */
export interface FilePartInfo {
  /** The part's `filename`, cleaned (services/http/printable_name.ts). */
  filename?: string;
  /** The part's `Content-Type`, when it gave one. */
  contentType?: string;
}

/** The file part of a form being parsed. */
export interface MultipartFile {
  /** The file's bytes; closes once the whole form has been parsed. */
  readonly stream: ReadableStream<Uint8Array>;
  /** The part's filename and content type (empty before the part began). */
  describe(): FilePartInfo;
  /**
   * Bytes of the request body read so far, the form's framing and fields
   * included: what the rate floor counts (reader.ts `BodyProgress`).
   */
  readonly receivedBytes: number;
  /** When the body's last bytes were read (`performance.now()`), if any were. */
  readonly lastReceivedAt: number | undefined;
}

/** Options of {@linkcode multipartFile}. */
export interface MultipartFileOptions {
  /** SHA-256 the whole body must have (a `Content-Digest` of the form). */
  expectedSha256?: Uint8Array;
  /** Most non-file fields (ignored, but parsed). @default {32} */
  maxFields?: number;
  /** Largest non-file field value kept by the parser. @default {16384} */
  maxFieldBytes?: number;
  /**
   * Most bytes of the body outside the file part (preamble, fields, part
   * heads, epilogue), past which the form is refused: the parser drops
   * them, so no other limit counts them. @default {1048576}
   */
  maxOtherBytes?: number;
  /**
   * The floor the reads of a request body are held to (frame_floor.ts): the
   * parser takes a preamble or other fields without the file's reader. None
   * for a body not read off the network (an in-memory one's 1-byte chunks).
   */
  frames?: FrameFloor;
}

const FILE_HWM = 64 * 1024;

// The HTML standard's multipart/form-data encoding escapes a file name's
// `"`, CR and LF as %22, %0D and %0A (and nothing else); browsers, curl,
// python requests and every fetch's FormData send names so, and undici's
// parser reads them back. Without this, `a "b".txt` was kept as
// `a %22b%22.txt`. A name's own literal "%22" cannot be told apart.
const FORM_ESCAPES: Readonly<Record<string, string>> = {
  "%22": '"',
  "%0D": "\r",
  "%0A": "\n",
};

/** `name` with the form encoding's escapes undone. */
function unescapeFormName(name: string): string {
  return name.replace(/%22|%0D|%0A/gi, (e) => FORM_ESCAPES[e.toUpperCase()]!);
}

/**
 * Keeps a filename's last segment, printable and short, its form escapes
 * undone (services/http/printable_name.ts, where `PUT /files/<name>`'s name
 * is cleaned too); `undefined` when nothing is left.
 */
function cleanFilename(name: string | undefined): string | undefined {
  return name === undefined
    ? undefined
    : uploadedFileName(unescapeFormName(name));
}

/** Busboy for `contentType`, or {@linkcode FormDataError} (no boundary). */
function createParser(
  contentType: string,
  maxFields: number,
  maxFieldBytes: number,
): BusboyInstance {
  try {
    return new Busboy({
      headers: { "content-type": contentType },
      fileHwm: FILE_HWM,
      // The name whole: uploadedFileName keeps its last segment, as it
      // does a `PUT /files/<name>`'s (one rule for both).
      preservePath: true,
      limits: {
        files: 1,
        fields: maxFields,
        fieldSize: maxFieldBytes,
        parts: maxFields + 1,
        headerPairs: 32,
      },
    });
  } catch (error) {
    throw new FormDataError(
      `Not a usable multipart/form-data type: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

const malformed = (error: Error) =>
  new FormDataError(`Malformed form: ${error.message}`, { cause: error });

/**
 * Feeds a request body into the parser, as fast as the file part is read,
 * and turns the file part into {@linkcode FilePartStream.stream}.
 */
class FilePartStream implements MultipartFile {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #parser: BusboyInstance;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #expectedSha256: Uint8Array | undefined;
  readonly #frames: FrameFloor | undefined;
  readonly #maxOtherBytes: number;
  // Body bytes read (given to the parser, or about to be), and file bytes
  // it gave back: the difference is the form's other bytes, plus what the
  // parser holds.
  #fedBytes = 0;
  #lastReadAt: number | undefined;
  #fileBytes = 0;
  #largestChunk = 0;
  // Resolved on stop, so the pump never waits on a destroyed parser.
  readonly #stopped = Promise.withResolvers<void>();
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #file: Readable | undefined;
  #info: FilePartInfo = {};
  #settled = false;
  #formDone = false;
  #fileDone = false;

  constructor(
    body: ReadableStream<Uint8Array>,
    parser: BusboyInstance,
    options: MultipartFileOptions & {
      maxFields: number;
      maxOtherBytes: number;
    },
  ) {
    this.#parser = parser;
    this.#frames = options.frames;
    this.#maxOtherBytes = options.maxOtherBytes;
    this.#reader = body.getReader();
    this.#expectedSha256 = options.expectedSha256;
    this.#listen(options.maxFields);
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        this.#pump().catch((error) => this.#fail(error));
      },
      pull: () => void this.#file?.resume(),
      cancel: (reason) => {
        this.#settled = true;
        this.#stop(reason);
      },
    }, { highWaterMark: 0 });
  }

  describe(): FilePartInfo {
    return this.#info;
  }

  get receivedBytes(): number {
    return this.#fedBytes;
  }

  get lastReceivedAt(): number | undefined {
    return this.#lastReadAt;
  }

  #listen(maxFields: number): void {
    const parser = this.#parser;
    const fail = (error: unknown) => this.#fail(error);
    parser.on("file", (_field, stream, filename, _encoding, mimeType) => {
      this.#onFile(stream, filename, mimeType);
    });
    parser.on(
      "filesLimit",
      () => fail(new FormDataError("The form has more than one file part")),
    );
    parser.on(
      "fieldsLimit",
      () =>
        fail(new FormDataError(`The form has more than ${maxFields} fields`)),
    );
    parser.on(
      "partsLimit",
      () => fail(new FormDataError("The form has too many parts")),
    );
    parser.on("error", (error: Error) => fail(malformed(error)));
    parser.on("finish", () => {
      this.#formDone = true;
      this.#maybeClose();
    });
  }

  #onFile(stream: Readable, filename: string, mimeType: string): void {
    this.#file = stream;
    const name = cleanFilename(filename);
    const contentType = declaredMediaType(mimeType);
    this.#info = {
      ...(name === undefined ? {} : { filename: name }),
      ...(contentType === undefined ? {} : { contentType }),
    };
    stream.on("data", (chunk: Buffer) => {
      this.#fileBytes += chunk.byteLength;
      if (this.#settled) return;
      this.#controller.enqueue(
        new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      );
      // Paused until the pipeline reads again (pull): the parser then holds
      // at most FILE_HWM and stops taking body chunks.
      if ((this.#controller.desiredSize ?? 0) <= 0) stream.pause();
    });
    stream.on("end", () => {
      this.#fileDone = true;
      this.#maybeClose();
    });
    stream.on("error", (error: Error) => this.#fail(malformed(error)));
  }

  async #pump(): Promise<void> {
    using frames = this.#frames;
    const hash = this.#expectedSha256 ? createHash("sha256") : undefined;
    while (!this.#settled) {
      const { done, value } = await this.#reader.read();
      if (this.#settled) return;
      if (done) break;
      // Counted as it arrives, before any turn the frame floor asks for.
      this.#fedBytes += value.byteLength;
      this.#lastReadAt = performance.now();
      const turn = frames?.afterRead(value.byteLength);
      if (turn) {
        await turn;
        if (this.#settled) return;
      }
      this.#countOther(value.byteLength);
      hash?.update(value);
      // The callback runs once the parser took the chunk, which waits
      // while the file stream is paused: this is the backpressure. The
      // chunk goes in as a Buffer view whose boundary search is fast (see
      // searchable_bytes.ts): Deno's own scans byte by byte.
      const chunk = SearchableBytes.over(value);
      const written = new Promise<void>((resolve, reject) =>
        this.#parser.write(chunk, (error) => error ? reject(error) : resolve())
      );
      // A write failing after a stop has nobody to tell.
      written.catch(() => {});
      await Promise.race([written, this.#stopped.promise]);
    }
    if (this.#settled) return;
    // Checked before the form ends, so a mismatch keeps nothing.
    if (hash && this.#expectedSha256) {
      const actual = hash.digest();
      if (!actual.equals(this.#expectedSha256)) {
        throw new DigestMismatchError(
          Buffer.from(this.#expectedSha256).toString("hex"),
          actual.toString("hex"),
        );
      }
    }
    this.#parser.end();
  }

  /**
   * Throws {@linkcode FormDataError} once the body's bytes outside the file
   * part pass the bound: busboy drops a preamble, an epilogue and a field's
   * value past its `fieldSize` without a word, so an endless one was read
   * (394 MB in 10 s over loopback) until the rate floor's 408, which said
   * nothing had come (`chunkBytes` are already in the body's bytes). The
   * parser may hold the file's bytes of up to two chunks beyond its
   * high-water mark (the one it is taking and the one before): those are
   * not counted against the form.
   */
  #countOther(chunkBytes: number): void {
    this.#largestChunk = Math.max(this.#largestChunk, chunkBytes);
    const held = FILE_HWM + 2 * this.#largestChunk;
    if (this.#fedBytes - this.#fileBytes - held > this.#maxOtherBytes) {
      throw new FormDataError(
        `The form has more than ${this.#maxOtherBytes} bytes outside its file part`,
      );
    }
  }

  /** Closes the file stream once both the part and the form are complete. */
  #maybeClose(): void {
    if (this.#settled || !this.#formDone) return;
    if (!this.#file) {
      return this.#fail(new FormDataError("The form has no file part"));
    }
    if (!this.#fileDone) return;
    this.#settled = true;
    this.#controller.close();
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#controller.error(error);
    this.#stop(error);
  }

  #stop(reason: unknown): void {
    this.#stopped.resolve();
    // Cheap at once: the request's body lets the runtime's go only once
    // the answer is out (upload_body.ts, answered_body.ts).
    this.#reader.cancel(reason).catch(() => {});
    this.#file?.destroy();
    this.#parser.destroy();
  }
}

/**
 * Starts parsing `body` as a `multipart/form-data` form of type
 * `contentType`. Throws {@linkcode FormDataError} at once when the type has
 * no boundary, `RangeError` on a bad `maxOtherBytes`; every later failure
 * errors the returned stream.
 */
export function multipartFile(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  options: MultipartFileOptions = {},
): MultipartFile {
  const {
    maxFields = 32,
    maxFieldBytes = 16 * 1024,
    maxOtherBytes = 1024 * 1024,
  } = options;
  checkWholeNumbers({ maxOtherBytes });
  const parser = createParser(contentType, maxFields, maxFieldBytes);
  return new FilePartStream(body, parser, {
    ...options,
    maxFields,
    maxOtherBytes,
  });
}
