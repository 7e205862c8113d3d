/**
 * A stream of the first bytes of another: a range read of a file opened
 * at the range's start (`LocalDiskStorage.read`), which stops reading the
 * file once the range is sent.
 *
 * @module
 */

/** A stream that passes on the first `length` bytes of `source`. */
export function limitStream(
  source: ReadableStream<Uint8Array>,
  length: number,
): ReadableStream<Uint8Array> {
  let left = length;
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left <= 0) {
        await reader.cancel();
        controller.close();
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      const chunk = value.byteLength > left ? value.subarray(0, left) : value;
      left -= chunk.byteLength;
      controller.enqueue(chunk);
      if (left <= 0) {
        await reader.cancel();
        controller.close();
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
