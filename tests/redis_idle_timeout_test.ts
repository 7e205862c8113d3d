/**
 * A `redis-server` whose idle `timeout` is shorter than the service's PING
 * period: the server closed the command connection between two PINGs, and
 * the link went down and up again every period. Each connection now reads
 * `timeout` and PINGs at least twice per it.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { createLogger } from "../services/ops/logger.ts";
import { RedisLink } from "../services/redis/redis_link.ts";
import { startRedis } from "./fixtures/redis.ts";

/** The server's count of connections accepted since it started. */
async function connectionsReceived(
  redis: { command(...args: string[]): Promise<unknown> },
): Promise<number> {
  const info = String(await redis.command("INFO", "stats"));
  const match = info.match(/total_connections_received:(\d+)/);
  assert.ok(match, info);
  return Number(match[1]);
}

Deno.test("REDIS_URL: a Redis timeout (1 s) below the PING period (2.5 s) leaves the connections up, none reopened, nothing logged after the first redis_up", async () => {
  await using redis = await startRedis();
  await redis.command("CONFIG", "SET", "timeout", "1");
  const lines: string[] = [];
  const link = new RedisLink({
    url: redis.url,
    pingIntervalMs: 2500,
    logger: createLogger({ level: "debug", write: (l) => lines.push(l) }),
  });
  try {
    for (let i = 0; i < 100 && !link.up; i++) await sleep(20);
    assert.ok(link.up, "connected");
    const opened = await connectionsReceived(redis);
    // Redis 7 closes a client idle 2 s under `timeout 1`: the PINGs every
    // 2.5 s let it be closed twice in this time (it was, down and up).
    await sleep(6000);
    assert.ok(link.up);
    // The fixture's own command opens one connection.
    assert.equal(await connectionsReceived(redis), opened + 1);
    assert.deepEqual(
      lines.map((line) => JSON.parse(line).msg),
      ["cache.redis_up"],
    );
  } finally {
    await link.close();
  }
});
