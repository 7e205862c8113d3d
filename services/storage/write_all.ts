/**
 * Writes every byte of a buffer to a file or a connection: one `write` may
 * take fewer bytes than given (a socket's buffer, a file near the disk's
 * end), and the caller wants all or an error.
 *
 * @module
 */

/** Anything with Deno's `write` (a `Deno.FsFile`, a `Deno.Conn`). */
export interface Writer {
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode writeAll}. */
export interface WriteAllOptions {
  /** Largest piece handed to one `write`. @default {Infinity} */
  pieceBytes?: number;
}

/**
 * Writes all of `bytes` to `to`, in pieces of at most `pieceBytes`; a
 * `write` taking nothing throws `Deno.errors.WriteZero` (it would loop).
 */
export async function writeAll(
  to: Writer,
  bytes: Uint8Array,
  options: WriteAllOptions = {},
): Promise<void> {
  const { pieceBytes = Infinity } = options;
  if (!(pieceBytes >= 1)) {
    throw new RangeError(`pieceBytes must be 1 or more: ${pieceBytes}`);
  }
  for (let written = 0; written < bytes.byteLength;) {
    const n = await to.write(bytes.subarray(written, written + pieceBytes));
    if (n <= 0) throw new Deno.errors.WriteZero("Write returned 0 bytes");
    written += n;
  }
}
