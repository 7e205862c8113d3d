/**
 * The upload's content hash: on a worker thread it gives the same SHA-256
 * as on the calling thread, every buffer comes back whole, and a writer
 * waits (`room()`) while too many bytes wait to be hashed; a batch that
 * is not full goes after a short wait (a slow upload's buffers come
 * back); a worker that ends fails the hashes in flight instead of leaving
 * them waiting.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HashWorkerEndedError } from "../services/uploads/errors.ts";
import {
  type HashFactory,
  inlineHash,
} from "../services/uploads/content_hash.ts";
import { HashWorker } from "../services/uploads/hashing.ts";
import { until } from "./fixtures/until.ts";

function chunks(): Uint8Array[] {
  // Views at the start of their buffers, as the reader hands them over;
  // some shorter than their buffer.
  return [1, 65536, 1 << 20, 3000, 0, 777].map((n, i) => {
    const buffer = new ArrayBuffer(Math.max(1, n + (i % 2) * 100));
    const view = new Uint8Array(buffer, 0, n);
    crypto.getRandomValues(view.subarray(0, Math.min(n, 65536)));
    return view;
  });
}

async function digestWith(factory: HashFactory, parts: Uint8Array[]) {
  const released: ArrayBuffer[] = [];
  const hash = factory((buffer) => released.push(buffer));
  for (const part of parts) {
    hash.update(part);
    await hash.room();
  }
  const digest = await hash.digest();
  return { digest, released };
}

Deno.test("the worker's SHA-256 is the content's, and every buffer comes back whole", async () => {
  using worker = new HashWorker();
  const parts = chunks();
  const expected = createHash("sha256");
  for (const part of parts) expected.update(part);
  const sizes = parts.map((p) => p.buffer.byteLength);
  const copies = parts.map((p) => p.slice());
  const { digest, released } = await digestWith(worker.hash, parts);
  assert.deepEqual(digest, new Uint8Array(expected.digest()));
  assert.deepEqual(released.map((b) => b.byteLength), sizes);
  released.forEach((buffer, i) =>
    assert.deepEqual(
      new Uint8Array(buffer, 0, copies[i]!.byteLength),
      copies[i],
    )
  );
  const inline = await digestWith(
    inlineHash,
    chunks().map((c, i) => {
      c.set(copies[i]!);
      return c;
    }),
  );
  assert.deepEqual(inline.digest, digest);
});

Deno.test("uploads hashed at once on one worker keep their own hashes", async () => {
  using worker = new HashWorker();
  const a = worker.hash(() => {});
  const b = worker.hash(() => {});
  const bytes = (text: string) => new TextEncoder().encode(text);
  a.update(bytes("hello "));
  b.update(bytes("other"));
  a.update(bytes("world"));
  const [da, db] = await Promise.all([a.digest(), b.digest()]);
  const hex = (d: Uint8Array) =>
    Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
  assert.equal(
    hex(da),
    createHash("sha256").update("hello world").digest("hex"),
  );
  assert.equal(hex(db), createHash("sha256").update("other").digest("hex"));
});

Deno.test("room() waits while more than the limit waits to be hashed", async () => {
  using worker = new HashWorker({ maxPendingBytes: 1024 });
  let released = 0;
  const hash = worker.hash(() => released++);
  hash.update(new Uint8Array(4096));
  let roomy = false;
  const room = hash.room().then(() => roomy = true);
  assert.equal(roomy, false, "room() resolved with 4 KiB pending");
  await room;
  assert.equal(released, 1, "room only once the buffer came back");
  await hash.digest();
  assert.throws(() => new HashWorker({ maxPendingBytes: 0 }), RangeError);
});

Deno.test("a batch that is not full goes once maxBatchWaitMs passed: a slow upload's buffers come back", async () => {
  using worker = new HashWorker({ maxBatchWaitMs: 10 });
  const released: ArrayBuffer[] = [];
  const hash = worker.hash((buffer) => released.push(buffer));
  // A slow body's read: 1 KiB in a 64 KiB buffer. The batch (2 MiB by the
  // buffers' sizes) is far from full; before, it held such buffers until
  // 32 of them had come, each upload keeping ~2 MiB.
  for (let i = 1; i <= 3; i++) {
    hash.update(new Uint8Array(new ArrayBuffer(64 * 1024), 0, 1024));
    await hash.room();
    await until(() => released.length === i, `buffer ${i} back`, 5_000);
  }
  await hash.digest();
  assert.throws(() => new HashWorker({ maxBatchWaitMs: -1 }), RangeError);
});

Deno.test("an abandoned hash lets its buffers go and leaves the worker usable", async () => {
  using worker = new HashWorker();
  const dropped = worker.hash(() => {});
  dropped.update(new Uint8Array(10));
  dropped.abandon();
  const { digest } = await digestWith(worker.hash, [new Uint8Array(3)]);
  assert.deepEqual(
    digest,
    new Uint8Array(createHash("sha256").update(new Uint8Array(3)).digest()),
  );
});

Deno.test("an abandoned hash frees its buffers at once, those sent back by the worker and those not yet sent", async () => {
  const MiB = 1024 * 1024;
  // Batches of 4 MiB: the first buffer goes to the worker, the second
  // waits for the batch to fill.
  using worker = new HashWorker({ maxPendingBytes: 8 * MiB });
  const sent = new Uint8Array(4 * MiB);
  const batched = new Uint8Array(MiB);
  const before = Deno.memoryUsage().external;
  const dropped = worker.hash(() => {});
  dropped.update(sent);
  dropped.update(batched);
  dropped.abandon();
  // The worker answers in order: once a later hash's digest is here, the
  // abandoned one's buffers came back before it.
  await digestWith(worker.hash, [new Uint8Array(3)]);
  // Left to the collector, they were still held (5 MiB) when the next
  // upload allocated its own.
  const left = Deno.memoryUsage().external - (before - 5 * MiB);
  assert.ok(left < MiB / 2, `${(left / MiB).toFixed(1)} MiB still held`);
  assert.equal(batched.buffer.detached, true);
});

/** `promise`'s outcome, or "pending" if it has not settled within `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  try {
    return await Promise.race([
      promise.then((value) => ({ value }), (error: unknown) => ({ error })),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("close() fails the hashes in flight at once, and later hashes still run", async () => {
  const worker = new HashWorker({ maxPendingBytes: 1024 });
  try {
    // One upload waits for room, another for its digest.
    const waiting = worker.hash(() => {});
    waiting.update(new Uint8Array(8192));
    const room = waiting.room();
    const ending = worker.hash(() => {});
    ending.update(new Uint8Array(10));
    const digest = ending.digest();
    worker.close();
    for (const waiter of [room, digest.then(() => {})]) {
      const outcome = await settledWithin(waiter, 1000);
      assert.ok(outcome !== "pending", "a waiter hangs after close()");
      assert.ok(
        "error" in outcome && outcome.error instanceof HashWorkerEndedError,
      );
    }
    // Whatever the writer does next fails the same way.
    await assert.rejects(waiting.room(), HashWorkerEndedError);
    await assert.rejects(waiting.digest(), HashWorkerEndedError);
    waiting.abandon();
    const { digest: after } = await digestWith(worker.hash, [
      new Uint8Array(3),
    ]);
    assert.deepEqual(
      after,
      new Uint8Array(createHash("sha256").update(new Uint8Array(3)).digest()),
    );
  } finally {
    worker.close();
  }
});

Deno.test("a hash worker that dies of an uncaught error is told as one JSON line, and nothing else is written", async () => {
  const script = new URL("./fixtures/dying_hash_worker.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const lines = (bytes: Uint8Array) =>
    decoder.decode(bytes).split("\n").filter((line) => line !== "");
  const [out, err] = [lines(stdout), lines(stderr)];
  assert.equal(code, 0, err.join("\n"));
  // Operators read both streams with jq: every line must be JSON. Deno
  // printed the worker's error as a dozen lines of text on stderr, beside
  // the JSON line.
  assert.deepEqual(
    err.filter((line) => !line.startsWith("{")),
    [],
    err.join("\n"),
  );
  const records = [...out, ...err].map((line) => JSON.parse(line));
  const exits = records.filter((r) => r.msg === "hash_worker.exited");
  assert.equal(exits.length, 1, JSON.stringify(records));
  assert.equal(exits[0].error.name, "RangeError");
  assert.match(exits[0].error.message, /length/);
  assert.equal(exits[0].uploads, 1);
  // The upload failed, and the next worker hashed the next one.
  assert.deepEqual(JSON.parse(out.at(-1)!), {
    failed: true,
    nextDigestBytes: 32,
  });
});
