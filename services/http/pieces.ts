/**
 * A body made of byte arrays held elsewhere, sent one after the other and
 * never joined: a large `/users/:id/summary` is its parts' cached buffers
 * between its own few bytes. Joined, each summary in flight held a copy
 * of its parts (16 at once of 15 MB lists: 1.03 GB); as pieces, every
 * summary is views of the same cached buffers. Made only by
 * `large_reply.ts`'s `bodyOf`, so a body of pieces is always a large one,
 * sent in slices (`piecesResponse`) or compressed from them
 * (`encoders.ts`).
 *
 * @module
 */

/** A body of `parts`, in order; `byteLength` is their total. */
export class Pieces {
  /** The parts, never changed (views of buffers others hold too). */
  readonly parts: readonly Uint8Array[];
  /** The body's length, bytes. */
  readonly byteLength: number;

  constructor(parts: readonly Uint8Array[]) {
    this.parts = parts;
    this.byteLength = lengthOf(parts);
  }

  /**
   * A function giving the body as views of its parts, at most
   * `sliceBytes` a call, then `undefined`.
   */
  slices(sliceBytes: number): () => Uint8Array | undefined {
    const { parts } = this;
    let index = 0;
    let offset = 0;
    return () => {
      while (index < parts.length && offset >= parts[index]!.byteLength) {
        index++;
        offset = 0;
      }
      const part = parts[index];
      if (part === undefined) return undefined;
      const end = Math.min(offset + sliceBytes, part.byteLength);
      const slice = part.subarray(offset, end);
      offset = end;
      return slice;
    };
  }

  /** The body as a stream of views of its parts, at most `sliceBytes` each. */
  stream(sliceBytes: number): ReadableStream<Uint8Array> {
    const next = this.slices(sliceBytes);
    return new ReadableStream({
      pull(controller) {
        const slice = next();
        if (slice === undefined) controller.close();
        else controller.enqueue(slice);
      },
    }, { highWaterMark: 0 });
  }
}

/** The total length of `parts`, bytes. */
export function lengthOf(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  return length;
}
