/**
 * Byte arrays joined into one: the pieces of a body read in chunks, an
 * answer read off a connection, events kept for a late watcher.
 *
 * @module
 */

/**
 * `chunks` as one array of `length` bytes (their total unless given); the
 * one chunk itself when there is only one (no copy).
 */
export function concat(
  chunks: readonly Uint8Array[],
  length: number = chunks.reduce((n, c) => n + c.byteLength, 0),
): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
