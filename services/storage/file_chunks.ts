/**
 * A stored file's bytes as a stream read straight from the open file, each
 * chunk in a buffer of its own size, the file closed with the last one.
 *
 * `file.readable` is a byte stream that allocates (and zeroes) a 64 KiB
 * buffer for every read and reads once more to learn the end: a 4 KiB
 * file cost two 64 KiB buffers and two reads, its one chunk kept a 64 KiB
 * buffer alive while queued in the runtime, and a range went through a
 * second stream that cut its last chunk. The length is known here (the
 * version's size, or the range's), so the reads stop at it.
 *
 * @module
 */

/** The most a chunk holds: the runtime's own file and socket read size. */
export const FILE_CHUNK_BYTES = 64 * 1024;

/**
 * The next `length` bytes of `file` (opened at where they start), in chunks
 * of at most {@linkcode FILE_CHUNK_BYTES}; `file` is closed after the last,
 * on a read error, or when the stream is cancelled. A file shorter than
 * `length` ends the stream early, as `file.readable` did (the runtime then
 * closes the connection: fewer bytes than the `Content-Length`).
 */
export function fileChunks(
  file: Deno.FsFile,
  length: number,
): ReadableStream<Uint8Array> {
  let left = length;
  const close = () => {
    try {
      file.close();
    } catch {
      // already closed
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left <= 0) {
        close();
        return controller.close();
      }
      let chunk: Uint8Array;
      try {
        chunk = await fill(
          file,
          new Uint8Array(Math.min(left, FILE_CHUNK_BYTES)),
        );
      } catch (error) {
        close();
        throw error;
      }
      left = chunk.byteLength === 0 ? 0 : left - chunk.byteLength;
      if (chunk.byteLength > 0) controller.enqueue(chunk);
      if (left <= 0) {
        close();
        controller.close();
      }
    },
    cancel: close,
    // Nothing read ahead: a read is asked for by the body's consumer.
  }, { highWaterMark: 0 });
}

/**
 * `range` of `file` (all of its `size` bytes without one) as
 * {@linkcode fileChunks}; `file` is closed if the seek to the range fails.
 */
export async function fileRangeChunks(
  file: Deno.FsFile,
  range: { start: number; end: number } | undefined,
  size: number,
): Promise<ReadableStream<Uint8Array>> {
  try {
    if (range) await file.seek(range.start, Deno.SeekMode.Start);
  } catch (error) {
    file.close();
    throw error;
  }
  return fileChunks(file, range ? range.end - range.start + 1 : size);
}

/**
 * `buffer` filled from `file` (a read may return less than asked), or the
 * part of it filled before the file's end.
 */
async function fill(
  file: Deno.FsFile,
  buffer: Uint8Array,
): Promise<Uint8Array> {
  let filled = 0;
  while (filled < buffer.byteLength) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) return buffer.subarray(0, filled);
    filled += read;
  }
  return buffer;
}
