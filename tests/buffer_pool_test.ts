/**
 * Tests of the byte-budgeted buffer pool the upload reader reads into.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BufferPool } from "../services/uploads/buffer_pool.ts";

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

Deno.test("BufferPool allocates lazily and reuses what is given back", async () => {
  const pool = new BufferPool({ capacityBytes: 100 });
  assert.equal(pool.allocatedBytes, 0);
  const a = await pool.acquire(40);
  assert.equal(a.byteLength, 40);
  assert.equal(pool.allocatedBytes, 40);
  assert.equal(pool.inUseBytes, 40);
  new Uint8Array(a)[0] = 7;
  pool.release(a);
  assert.equal(pool.inUseBytes, 0);
  const again = await pool.acquire(40);
  assert.equal(again, a);
  assert.equal(new Uint8Array(again)[0], 7);
  assert.equal(pool.allocatedBytes, 40);
});

Deno.test("BufferPool acquire waits while the budget is spent", async () => {
  const pool = new BufferPool({ capacityBytes: 100 });
  const a = await pool.acquire(60);
  const b = pool.acquire(60);
  assert.equal(await settled(b), false);
  pool.release(a);
  assert.equal(await b, a);
  assert.ok(pool.allocatedBytes <= 100);
});

Deno.test("BufferPool takes back transferred buffers", async () => {
  const pool = new BufferPool({ capacityBytes: 64 });
  const a = await pool.acquire(32);
  // What a BYOB read does with the buffer it fills.
  const moved = a.transfer();
  assert.equal(a.byteLength, 0);
  assert.throws(() => pool.release(a), TypeError);
  pool.release(moved);
  assert.equal(await pool.acquire(32), moved);
});

Deno.test("BufferPool drops free buffers of another size to make room", async () => {
  const pool = new BufferPool({ capacityBytes: 100 });
  const small = [await pool.acquire(30), await pool.acquire(30)];
  for (const buffer of small) pool.release(buffer);
  assert.equal(pool.allocatedBytes, 60);
  // 60 + 80 is over budget: the free small ones give way.
  const big = await pool.acquire(80);
  assert.equal(big.byteLength, 80);
  assert.equal(pool.allocatedBytes, 80);
  // A small one fits next to it again, newly allocated.
  const another = await pool.acquire(20);
  assert.equal(pool.allocatedBytes, 100);
  pool.release(another);
  pool.release(big);
});

Deno.test("BufferPool serves waiters in order", async () => {
  const pool = new BufferPool({ capacityBytes: 100 });
  const a = await pool.acquire(50);
  const b = await pool.acquire(50);
  const order: string[] = [];
  const big = pool.acquire(100).then((x) => (order.push("big"), x));
  const small = pool.acquire(50).then((x) => (order.push("small"), x));
  // Fits the small waiter, but it must not overtake the big one.
  pool.release(a);
  assert.equal(await settled(small), false);
  pool.release(b);
  pool.release(await big);
  await small;
  assert.deepEqual(order, ["big", "small"]);
});

Deno.test("BufferPool abort rejects waiting and later acquires", async () => {
  const pool = new BufferPool({ capacityBytes: 10 });
  const held = await pool.acquire(10);
  const waiting = pool.acquire(10);
  const reason = new Error("upload failed");
  pool.abort(reason);
  pool.abort(new Error("ignored"));
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(pool.acquire(1), (error) => error === reason);
  assert.equal(pool.aborted, true);
  // Giving back after an abort is harmless.
  pool.release(held);

  const plain = new BufferPool({ capacityBytes: 1 });
  plain.abort();
  await assert.rejects(
    plain.acquire(1),
    (error) => error instanceof DOMException && error.name === "AbortError",
  );
});

Deno.test("BufferPool validates its arguments", async () => {
  for (const capacityBytes of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new BufferPool({ capacityBytes }), RangeError);
  }
  const pool = new BufferPool({ capacityBytes: 10 });
  for (const bytes of [0, -1, 1.5, 11]) {
    await assert.rejects(pool.acquire(bytes), RangeError, String(bytes));
  }
  assert.throws(() => pool.release(new ArrayBuffer(4)), RangeError);
  assert.throws(
    () => pool.release(new Uint8Array(4) as unknown as ArrayBuffer),
    TypeError,
  );
});
