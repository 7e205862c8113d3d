/**
 * Micro-benchmarks of {@linkcode BoundedQueue}, the reader->writer queue of
 * the upload pipeline, moving 64 KiB chunks (the size request bodies arrive
 * in), each group against a baseline in this file. In the pipeline the
 * queue's byte capacity is the only thing that makes the reader wait (its
 * buffers come from a free list that never waits), so the `backpressure`
 * group measures the very wait an upload reports as `readerBlockedMs`:
 *
 * - `queue handoff`: one chunk in and out with nothing waiting, against a
 *   `TransformStream` write/read (what a `pipeTo` pipeline pays per chunk);
 *   a plain array push/shift shows the floor.
 * - `queue backpressure`: 8 MiB through a 1 MiB bound with a producer and a
 *   consumer running at once, so the producer waits in `put` on a full queue
 *   and the consumer in `get` on an empty one, against a
 *   `TransformStream` bounded by a `ByteLengthQueuingStrategy` of 1 MiB.
 *
 * Run with `deno bench bench/queue_bench.ts` (or through `deno task bench`,
 * which reports the ratios).
 *
 * @module
 */

import { BoundedQueue } from "../services/uploads/bounded_queue.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = new Uint8Array(64 * KiB);
const BURST_CHUNKS = (8 * MiB) / CHUNK.byteLength;

// One chunk in, one chunk out, nothing ever waits.
{
  const group = "queue handoff (64 KiB chunk)";

  const stream = new TransformStream<Uint8Array, Uint8Array>();
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  Deno.bench({
    name: "TransformStream write + read",
    group,
    baseline: true,
    async fn() {
      const written = writer.write(CHUNK);
      await reader.read();
      await written;
    },
  });

  const queue = new BoundedQueue({ capacityBytes: 8 * MiB });
  Deno.bench({
    name: "BoundedQueue put + get",
    group,
    async fn() {
      await queue.put(CHUNK);
      await queue.get();
    },
  });

  const array: Uint8Array[] = [];
  Deno.bench({
    name: "Array push + shift (floor)",
    group,
    fn() {
      array.push(CHUNK);
      array.shift();
    },
  });
}

// A producer and a consumer at once through a 1 MiB bound: both wait.
{
  const group = "queue backpressure (8 MiB through 1 MiB)";

  Deno.bench({
    name: "TransformStream, ByteLengthQueuingStrategy 1 MiB",
    group,
    baseline: true,
    async fn() {
      const stream = new TransformStream<Uint8Array, Uint8Array>(
        {},
        new ByteLengthQueuingStrategy({ highWaterMark: MiB }),
      );
      const producer = (async () => {
        const writer = stream.writable.getWriter();
        for (let i = 0; i < BURST_CHUNKS; i++) {
          await writer.ready;
          writer.write(CHUNK);
        }
        await writer.close();
      })();
      let bytes = 0;
      for await (const chunk of stream.readable) bytes += chunk.byteLength;
      await producer;
      if (bytes !== BURST_CHUNKS * CHUNK.byteLength) throw new Error("lost");
    },
  });

  Deno.bench({
    name: "BoundedQueue, capacityBytes 1 MiB",
    group,
    async fn() {
      const queue = new BoundedQueue({ capacityBytes: MiB });
      const producer = (async () => {
        for (let i = 0; i < BURST_CHUNKS; i++) await queue.put(CHUNK);
        queue.close();
      })();
      let bytes = 0;
      for await (const chunk of queue) bytes += chunk.byteLength;
      await producer;
      if (bytes !== BURST_CHUNKS * CHUNK.byteLength) throw new Error("lost");
    },
  });
}
