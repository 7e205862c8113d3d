/**
 * The upstream's `Semaphore`: permits first come first served, a full queue
 * refused at once, an aborted waiter leaving the queue, and its options
 * validated.
 *
 * @module
 */

import assert from "node:assert/strict";
import { QueueFullError, Semaphore } from "../services/upstream/semaphore.ts";

Deno.test("Semaphore hands permits out first come, first served", async () => {
  const slots = new Semaphore({ permits: 2, queueLimit: 10 });
  await slots.acquire();
  await slots.acquire();
  assert.equal(slots.free, 0);
  const order: number[] = [];
  const waiting = [1, 2, 3].map((n) =>
    slots.acquire().then(() => order.push(n))
  );
  assert.equal(slots.waiting, 3);
  slots.release();
  slots.release();
  slots.release();
  await Promise.all(waiting);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(slots.waiting, 0);
  for (let i = 0; i < 2; i++) slots.release();
  assert.equal(slots.free, 2);
  assert.throws(() => slots.release(), RangeError);
});

Deno.test("Semaphore refuses at once when the queue is full", async () => {
  const slots = new Semaphore({ permits: 1, queueLimit: 2 });
  await slots.acquire();
  const queued = [slots.acquire(), slots.acquire()];
  // Refused before even a 0 ms timer fires: nothing was waited for (no
  // permit is released meanwhile; a queued acquire would stay pending).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const turn = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), 0);
  });
  const first = await Promise.race([
    slots.acquire().then(() => "acquired", (error: unknown) => error),
    turn,
  ]);
  clearTimeout(timer);
  assert.ok(first instanceof QueueFullError, String(first));
  assert.equal(slots.waiting, 2);
  slots.release();
  slots.release();
  await Promise.all(queued);
  slots.release();
  // No queue at all: a taken permit is refused at once.
  const none = new Semaphore({ permits: 1, queueLimit: 0 });
  await none.acquire();
  await assert.rejects(() => none.acquire(), QueueFullError);
});

Deno.test("Semaphore: an aborted waiter leaves the queue", async () => {
  const slots = new Semaphore({ permits: 1, queueLimit: 5 });
  await slots.acquire();
  const waiting = slots.acquire({ signal: AbortSignal.timeout(30) });
  const later = slots.acquire();
  assert.equal(slots.waiting, 2);
  await assert.rejects(
    () => waiting,
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  assert.equal(slots.waiting, 1);
  // The permit goes to the one still waiting.
  slots.release();
  await later;
  assert.equal(slots.free, 0);
  slots.release();
  const aborted = new AbortController();
  aborted.abort(new Error("gone"));
  await assert.rejects(() => slots.acquire({ signal: aborted.signal }), /gone/);
  assert.equal(slots.free, 1);
});

Deno.test("Semaphore validates its options", () => {
  assert.throws(() => new Semaphore({ permits: 0, queueLimit: 1 }), RangeError);
  assert.throws(
    () => new Semaphore({ permits: 1, queueLimit: -1 }),
    RangeError,
  );
  assert.throws(
    () => new Semaphore({ permits: 1.5, queueLimit: 1 }),
    RangeError,
  );
});
