/**
 * Tests of the byte-bounded queue between the upload reader and writer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BoundedQueue } from "../services/uploads/bounded_queue.ts";

const bytes = (n: number, fill = 0) => new Uint8Array(n).fill(fill);

/**
 * Whether `promise` has settled once every pending microtask has run. A
 * zero-delay timer runs after the microtask queue drains, so this is
 * ordering, not timing.
 */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

/** Counts the abort listeners currently registered on `signal`. */
function spyListeners(signal: AbortSignal): { readonly count: number } {
  const active = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (
    ...args: Parameters<AbortSignal["addEventListener"]>
  ) => {
    if (args[0] === "abort") active.add(args[1]);
    add(...args);
  };
  signal.removeEventListener = (
    ...args: Parameters<AbortSignal["removeEventListener"]>
  ) => {
    if (args[0] === "abort") active.delete(args[1]);
    remove(...args);
  };
  return {
    get count() {
      return active.size;
    },
  };
}

Deno.test("BoundedQueue keeps FIFO order and counts bytes", async () => {
  const queue = new BoundedQueue({ capacityBytes: 100 });
  await queue.put(bytes(1, 1));
  await queue.put(bytes(2, 2));
  await queue.put(bytes(3, 3));
  assert.equal(queue.size, 6);
  assert.equal(queue.length, 3);
  assert.deepEqual(await queue.get(), bytes(1, 1));
  assert.deepEqual(await queue.get(), bytes(2, 2));
  assert.deepEqual(await queue.get(), bytes(3, 3));
  assert.equal(queue.size, 0);
  assert.equal(queue.length, 0);
  assert.equal(queue.maxBytes, 6);
});

Deno.test("BoundedQueue put waits at capacity and resumes after get", async () => {
  const queue = new BoundedQueue({ capacityBytes: 10 });
  await queue.put(bytes(6, 1));
  const second = queue.put(bytes(6, 2));
  assert.equal(await settled(second), false);
  assert.equal(queue.size, 6);

  assert.deepEqual(await queue.get(), bytes(6, 1));
  assert.equal(await settled(second), true);
  assert.equal(queue.size, 6);
  assert.ok(queue.maxBytes <= 10);
});

Deno.test("BoundedQueue serves waiting puts in order", async () => {
  const queue = new BoundedQueue({ capacityBytes: 10 });
  await queue.put(bytes(8, 1));
  const big = queue.put(bytes(9, 2));
  // Would fit right now, but must not overtake the waiting put.
  const small = queue.put(bytes(1, 3));
  assert.equal(await settled(small), false);
  await queue.get();
  await Promise.all([big, small]);
  assert.deepEqual(await queue.get(), bytes(9, 2));
  assert.deepEqual(await queue.get(), bytes(1, 3));
});

Deno.test("BoundedQueue admits an oversize chunk into an empty queue", async () => {
  const queue = new BoundedQueue({ capacityBytes: 4 });
  await queue.put(bytes(10));
  assert.equal(queue.size, 10);
  assert.equal(queue.maxBytes, 10);
  const next = queue.put(bytes(1));
  assert.equal(await settled(next), false);
  assert.equal((await queue.get())?.byteLength, 10);
  await next;
  assert.equal(queue.size, 1);
});

Deno.test("BoundedQueue hands a chunk straight to a waiting get", async () => {
  const queue = new BoundedQueue({ capacityBytes: 4 });
  const got = queue.get();
  assert.equal(await settled(got), false);
  await queue.put(bytes(2, 7));
  assert.deepEqual(await got, bytes(2, 7));
  assert.equal(queue.size, 0);
});

Deno.test("BoundedQueue close drains, then gets undefined; put rejects", async () => {
  const queue = new BoundedQueue({ capacityBytes: 4 });
  await queue.put(bytes(3, 1));
  const waiting = queue.put(bytes(3, 2));
  queue.close();
  assert.equal(queue.closed, true);
  await assert.rejects(queue.put(bytes(1)), TypeError);

  // A put that was already waiting when close() ran still goes in.
  assert.deepEqual(await queue.get(), bytes(3, 1));
  await waiting;
  assert.deepEqual(await queue.get(), bytes(3, 2));
  assert.equal(await queue.get(), undefined);
  assert.equal(await queue.get(), undefined);
});

Deno.test("BoundedQueue close wakes waiting getters with undefined", async () => {
  const queue = new BoundedQueue({ capacityBytes: 4 });
  const first = queue.get();
  const second = queue.get();
  queue.close();
  assert.equal(await first, undefined);
  assert.equal(await second, undefined);
});

Deno.test("BoundedQueue abort rejects a waiting put at once, and later calls", async () => {
  const queue = new BoundedQueue({ capacityBytes: 1 });
  await queue.put(bytes(1));
  const waiting = queue.put(bytes(1));
  const reason = new Error("writer failed");
  queue.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(queue.put(bytes(1)), (error) => error === reason);
  await assert.rejects(queue.get(), (error) => error === reason);
  assert.equal(queue.size, 0);
  assert.equal(queue.aborted, true);
  // Only the first reason counts.
  queue.abort(new Error("second"));
  await assert.rejects(queue.get(), (error) => error === reason);
});

Deno.test("BoundedQueue abort rejects waiting gets at once, and later calls", async () => {
  const queue = new BoundedQueue({ capacityBytes: 1 });
  const first = queue.get();
  const second = queue.get();
  const reason = new Error("reader failed");
  queue.abort(reason);
  await assert.rejects(first, (error) => error === reason);
  await assert.rejects(second, (error) => error === reason);
  await assert.rejects(queue.get(), (error) => error === reason);
  await assert.rejects(queue.put(bytes(1)), (error) => error === reason);
});

Deno.test("BoundedQueue abort after close still fails the drain", async () => {
  const queue = new BoundedQueue({ capacityBytes: 8 });
  await queue.put(bytes(1));
  queue.close();
  queue.abort("gone");
  await assert.rejects(queue.get(), (error) => error === "gone");
});

Deno.test("BoundedQueue abort without a reason uses an AbortError", async () => {
  const queue = new BoundedQueue({ capacityBytes: 8 });
  queue.abort();
  await assert.rejects(
    queue.get(),
    (error) => error instanceof DOMException && error.name === "AbortError",
  );
});

Deno.test("BoundedQueue put and get give up when their signal aborts", async () => {
  const queue = new BoundedQueue({ capacityBytes: 2 });
  const controller = new AbortController();
  const waitingGet = queue.get({ signal: controller.signal });
  controller.abort("stop get");
  await assert.rejects(waitingGet, (error) => error === "stop get");

  await queue.put(bytes(2, 1));
  const putController = new AbortController();
  const waitingPut = queue.put(bytes(2, 2), { signal: putController.signal });
  putController.abort("stop put");
  await assert.rejects(waitingPut, (error) => error === "stop put");

  // The queue itself is unaffected and the abandoned chunk never went in.
  assert.equal(queue.aborted, false);
  assert.deepEqual(await queue.get(), bytes(2, 1));
  assert.equal(queue.length, 0);
  await assert.rejects(
    queue.get({ signal: AbortSignal.abort("already") }),
    (error) => error === "already",
  );
});

Deno.test("BoundedQueue lets puts behind an abandoned one go in", async () => {
  const queue = new BoundedQueue({ capacityBytes: 4 });
  await queue.put(bytes(2));
  const controller = new AbortController();
  const big = queue.put(bytes(4), { signal: controller.signal });
  const small = queue.put(bytes(2));
  controller.abort();
  await assert.rejects(big);
  await small;
  assert.equal(queue.size, 4);
});

Deno.test("BoundedQueue constructor signal aborts the queue", async () => {
  const controller = new AbortController();
  const queue = new BoundedQueue({
    capacityBytes: 4,
    signal: controller.signal,
  });
  const waiting = queue.get();
  controller.abort("shutdown");
  await assert.rejects(waiting, (error) => error === "shutdown");
  await assert.rejects(queue.put(bytes(1)), (error) => error === "shutdown");

  const early = new BoundedQueue({
    capacityBytes: 4,
    signal: AbortSignal.abort("early"),
  });
  await assert.rejects(early.get(), (error) => error === "early");
});

Deno.test("BoundedQueue is async iterable until closed", async () => {
  const queue = new BoundedQueue({ capacityBytes: 3 });
  const producer = (async () => {
    for (let i = 0; i < 10; i++) await queue.put(bytes(2, i));
    queue.close();
  })();
  const seen: number[] = [];
  for await (const chunk of queue) {
    assert.ok(queue.size <= 3);
    seen.push(chunk[0]!);
  }
  await producer;
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("BoundedQueue removes abort listeners once a wait settles", async () => {
  const controller = new AbortController();
  const spy = spyListeners(controller.signal);
  const { signal } = controller;

  const queue = new BoundedQueue({ capacityBytes: 1, signal });
  assert.equal(spy.count, 1);

  const got = queue.get({ signal });
  assert.equal(spy.count, 2);
  await queue.put(bytes(1), { signal });
  await got;
  assert.equal(spy.count, 1);

  await queue.put(bytes(1), { signal });
  const put = queue.put(bytes(1), { signal });
  assert.equal(spy.count, 2);
  await queue.get({ signal });
  await put;
  assert.equal(spy.count, 1);

  // Closing and draining releases the constructor signal too.
  queue.close();
  assert.equal(spy.count, 1);
  await queue.get();
  assert.equal(spy.count, 0);

  const other = new BoundedQueue({ capacityBytes: 1, signal });
  const waiting = other.get({ signal });
  assert.equal(spy.count, 2);
  other.abort("done");
  await assert.rejects(waiting);
  assert.equal(spy.count, 0);
  assert.equal(controller.signal.aborted, false);
});

Deno.test("BoundedQueue validates its arguments", async () => {
  for (const capacityBytes of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new BoundedQueue({ capacityBytes }), RangeError);
  }
  const queue = new BoundedQueue({ capacityBytes: 1 });
  await assert.rejects(
    queue.put("text" as unknown as Uint8Array),
    TypeError,
  );
});

Deno.test("BoundedQueue.hasRoomFor says whether a put would go in at once", async () => {
  const queue = new BoundedQueue({ capacityBytes: 10 });
  assert.equal(queue.hasRoomFor(100), true, "an empty queue takes any chunk");
  await queue.put(new Uint8Array(6));
  assert.equal(queue.hasRoomFor(4), true);
  assert.equal(queue.hasRoomFor(5), false);
  const waiting = queue.put(new Uint8Array(5));
  assert.equal(queue.hasRoomFor(1), false, "puts wait in order");
  await queue.get();
  await waiting;
  await queue.get();
  const getter = queue.get();
  assert.equal(queue.hasRoomFor(100), true, "a getter waits");
  await queue.put(new Uint8Array(1));
  await getter;
  queue.close();
  assert.equal(queue.hasRoomFor(1), false);
});
