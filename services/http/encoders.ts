/**
 * The byte work of response compression (`compression.ts`): reading a
 * body up to a bound, and encoding bytes in gzip or brotli into exact-size
 * arrays fit to be kept in the compressed-body LRU.
 *
 * @module
 */

import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { Pieces } from "./pieces.ts";

/** A content coding the app produces. */
export type Coding = "br" | "gzip";

const gzipAsync = promisify(gzip);

/**
 * The web `CompressionStream` format of each coding. Deno's
 * CompressionStream also speaks brotli (not yet in the DOM types).
 */
export const STREAM_FORMATS: Record<Coding, CompressionFormat> = {
  br: "brotli" as CompressionFormat,
  gzip: "gzip",
};

/** Reads `body` up to `limit` bytes; `rest` is set when it is longer. */
export async function readUpTo(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<{ chunks: Uint8Array[]; length: number; rest?: ReadableStream }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length <= limit) {
    const { done, value } = await reader.read();
    if (done) return { chunks, length };
    chunks.push(value);
    length += value.byteLength;
  }
  // Too long to hold: hand back what was read, followed by the rest.
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { chunks, length, rest };
}

/**
 * `bytes` in brotli, through the web `CompressionStream`. node:zlib's
 * brotli encoder (`brotliCompress`, `brotliCompressSync` and
 * `createBrotliCompress` alike) leaks ~7.5 KiB of native memory per call
 * under Deno 2.9, never given back (30k calls: +232 MiB after GC), and
 * hands back 40 bytes as a view of a 16 KiB buffer; the web stream leaks
 * nothing and answers exact-size bytes, for about twice the CPU (its
 * quality is not settable: 0.9 vs 0.25 ms for a 200-byte body).
 */
async function brotli(bytes: Uint8Array): Promise<Uint8Array> {
  const compressed = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream(STREAM_FORMATS.br));
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

/**
 * `pieces` encoded with `coding` through the web `CompressionStream`, read
 * from views of its parts: no joined copy of them first.
 */
async function encodedPieces(
  pieces: Pieces,
  coding: Coding,
): Promise<Uint8Array> {
  const compressed = pieces.stream(PIECE_SLICE_BYTES).pipeThrough(
    new CompressionStream(STREAM_FORMATS[coding]) as unknown as TransformStream<
      Uint8Array,
      Uint8Array<ArrayBuffer>
    >,
  );
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

// What the encoder is fed of a body of pieces at a time.
const PIECE_SLICE_BYTES = 1024 * 1024;

/** `bytes` encoded with `coding`, as exact-size bytes. */
export async function encode(
  bytes: Uint8Array | Pieces,
  coding: Coding,
): Promise<Uint8Array> {
  if (bytes instanceof Pieces) return await encodedPieces(bytes, coding);
  // Level 6 (gzip): fast enough for per-request work, and the LRU spares
  // repeated bodies even that.
  const out = coding === "br" ? await brotli(bytes) : await gzipAsync(bytes);
  const view = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  // Kept in the LRU, a view of a larger buffer would pin all of it while
  // counted as its own length: an exact-size copy holds what is counted.
  return out.byteOffset === 0 && out.buffer.byteLength === out.byteLength
    ? view
    : view.slice();
}
