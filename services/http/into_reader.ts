/**
 * A reader that fills the views its caller provides, whatever the body:
 * BYOB for a byte stream (a request body), copying for any other stream.
 *
 * @module
 */

/** Reads a body into views the caller provides; see {@linkcode intoReader}. */
export interface IntoReader {
  /**
   * Fills the start of `view` with at least one byte, or resolves done.
   * `value` is a view of the filled bytes, on the buffer that `view`'s
   * buffer was transferred to (or on that same buffer); it is absent once
   * the read was cancelled.
   */
  read(view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Cancels the body. */
  cancel(reason: unknown): Promise<void>;
}

/**
 * A reader that fills caller-provided views. A byte stream (such as a
 * request body) gets a BYOB reader: the bytes land in the view with no
 * copy and no allocation. Any other stream's chunks are copied in, with
 * the rest of a chunk kept for the next read.
 */
export function intoReader(body: ReadableStream<Uint8Array>): IntoReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch (error) {
    // Only byte streams support BYOB; anything else is read chunk by chunk.
    if (!(error instanceof TypeError)) throw error;
  }
  if (byob) {
    return {
      read: (view) => byob.read(view),
      cancel: (reason) => byob.cancel(reason),
    };
  }
  const reader = body.getReader();
  let rest: Uint8Array | undefined;
  return {
    async read(view) {
      while (rest === undefined) {
        const result = await reader.read();
        if (result.done) return { done: true, value: view.subarray(0, 0) };
        if (!(result.value instanceof Uint8Array)) {
          throw new TypeError("Upload body chunks must be Uint8Arrays");
        }
        if (result.value.byteLength > 0) rest = result.value;
      }
      const n = Math.min(rest.byteLength, view.byteLength);
      view.set(n === rest.byteLength ? rest : rest.subarray(0, n));
      rest = n === rest.byteLength ? undefined : rest.subarray(n);
      return { done: false, value: view.subarray(0, n) };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
