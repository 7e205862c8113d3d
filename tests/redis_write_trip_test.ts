/**
 * An entry's age as other instances read it from Redis, when its SET took
 * long to arrive (a Redis stalled by its host, a loaded machine): the
 * writer counts its age when it sends the SET, Redis starts the expiry
 * (`PX`) when the SET arrives, and the readers count the age from the
 * `PTTL`. Before, the trip between the two was lost: every other instance
 * read the entry that much younger than it was (fresh past its TTL), where
 * the README promises its age errs older, as RFC 9111 4.2.3's
 * `response_delay` does (`redis_cache_test.ts` "stale-if-error over 2
 * instances" caught B serving `hit; ttl=0` under stress-ng).
 *
 * @module
 */

import assert from "node:assert/strict";
import { MemoryStore } from "../services/cache/memory_store.ts";
import { TwoTierStore } from "../services/cache/two_tier.ts";
import { RedisLink } from "../services/redis/redis_link.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";

/** How long Redis stays frozen under the SET: the scene, not a wait. */
const STALL_MS = 400;
/** PX and PTTL count whole ms: each may round younger by one. */
const ROUNDING_MS = 3;

Deno.test("two-tier store: an entry whose SET waited on a frozen Redis reads at least as old on another instance", async () => {
  await using redis = await startRedis();
  // Far above the stall: the SET is waited for, not given up.
  const link = new RedisLink({ url: redis.url, timeoutMs: 10_000 });
  const other = new RedisLink({ url: redis.url, timeoutMs: 10_000 });
  try {
    await until(() => link.up && other.up, "Redis connected");
    const [writer, reader] = [link, other].map((l) =>
      new TwoTierStore({
        memory: new MemoryStore({ maxBytes: 1 << 20 }),
        link: l,
        freshMs: 60_000,
      })
    );
    const entry = {
      status: 200,
      body: new TextEncoder().encode("{}"),
      contentType: "application/json",
      etag: '"trip"',
      storedAt: performance.now(),
    };
    redis.pause();
    const written = writer!.set("/trip", entry, 60_000);
    await new Promise((resolve) => setTimeout(resolve, STALL_MS));
    redis.resume();
    assert.equal(await written, true);
    const read = await reader!.getShared("/trip");
    assert.ok(read, "the reader finds the entry in Redis");
    // Both stores run in this process: one clock, storedAt comparable.
    const youngerMs = read.storedAt - entry.storedAt;
    assert.ok(
      youngerMs <= ROUNDING_MS,
      `read back ${youngerMs.toFixed(1)} ms younger than it is`,
    );
    await writer!.close();
    await reader!.close();
  } finally {
    await link.close();
    await other.close();
  }
});
