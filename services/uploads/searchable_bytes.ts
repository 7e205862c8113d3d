/**
 * Body chunks for the form parser whose search for a byte sequence is a
 * Boyer-Moore-Horspool search instead of a byte-by-byte scan.
 *
 * `@fastify/busboy` finds each boundary with `Buffer.prototype.indexOf`
 * on the chunks it is given. In Node that is a native memmem; in Deno 2.9
 * `node:buffer` it is a JavaScript loop that compares at every byte
 * offset (`searchBytes`), about 10 ns a byte: 4.1 s of main-thread CPU
 * for two 200 MB form uploads, where a raw upload of the same bytes spent
 * 0.66 s in all. Horspool skips by up to the needle's length at each
 * step, and a form's boundary is 40-70 bytes long (`\r\n--` and the
 * client's token), so it looks at a few bytes in 40 of random data.
 *
 * A {@linkcode SearchableBytes} is a `Buffer` (busboy takes it as it is,
 * with no copy) over the same memory as the chunk; only `indexOf` with a
 * byte-sequence needle differs, and it returns what `Buffer` would.
 *
 * ```ts ignore
 * parser.write(SearchableBytes.over(chunk), callback);
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";

// Skip tables by needle: busboy searches with the same few needles (its
// boundary, the header end) for a whole form.
const skipTables = new WeakMap<Uint8Array, Uint8Array | Uint16Array>();

/** How far Horspool may shift when the window's last byte is `b`. */
function skipTable(needle: Uint8Array): Uint8Array | Uint16Array {
  let table = skipTables.get(needle);
  if (table) return table;
  const last = needle.length - 1;
  table = needle.length <= 255 ? new Uint8Array(256) : new Uint16Array(256);
  table.fill(needle.length);
  for (let i = 0; i < last; i++) table[needle[i]!] = last - i;
  skipTables.set(needle, table);
  return table;
}

/**
 * Where `needle` first occurs in `haystack` at or after `from` (>= 0), or
 * -1: Boyer-Moore-Horspool, with `needle` non-empty.
 */
export function indexOfBytes(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
): number {
  const last = needle.length - 1;
  const lastByte = needle[last]!;
  const skip = skipTable(needle);
  const stop = haystack.length - needle.length;
  let at = from;
  while (at <= stop) {
    const byte = haystack[at + last]!;
    if (byte === lastByte) {
      let i = 0;
      while (i < last && haystack[at + i] === needle[i]) i++;
      if (i === last) return at;
    }
    at += skip[byte]!;
  }
  return -1;
}

/**
 * A `Buffer` whose `indexOf(bytes, offset)` runs
 * {@linkcode indexOfBytes}; every other call is `Buffer`'s own.
 */
export class SearchableBytes extends Uint8Array {
  /** A view of `chunk`'s bytes (no copy). */
  static over(chunk: Uint8Array): SearchableBytes {
    return new SearchableBytes(
      chunk.buffer as ArrayBuffer,
      chunk.byteOffset,
      chunk.byteLength,
    );
  }

  /** `Buffer.prototype.indexOf`, fast for a byte-sequence needle. */
  override indexOf(
    value: number | string | Uint8Array,
    byteOffset?: number | string,
    encoding?: string,
  ): number {
    if (
      value instanceof Uint8Array && value.length > 0 &&
      encoding === undefined &&
      (byteOffset === undefined ||
        (Number.isInteger(byteOffset) && (byteOffset as number) >= 0))
    ) {
      return indexOfBytes(this, value, (byteOffset as number | undefined) ?? 0);
    }
    return (Buffer.prototype.indexOf as (...args: unknown[]) => number).call(
      this,
      value,
      byteOffset,
      encoding,
    );
  }
}

// A Buffer to `Buffer.isBuffer` and to every Buffer method, while its
// constructor stays the typed array's: views are made without a copy.
Object.setPrototypeOf(SearchableBytes.prototype, Buffer.prototype);
