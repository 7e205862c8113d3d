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
import { until } from "./fixtures/until.ts";

// The test's own connections, one per command (this CLIENT LIST, the
// CONFIG SET before), are listed until the server sees them closed.
const FIXTURE_COMMANDS = new Set(["client|list", "config|set"]);

/** The link's clients on the server: id -> age in whole seconds. */
async function clientAges(
  redis: { command(...args: string[]): Promise<unknown> },
): Promise<Map<string, number>> {
  const ages = new Map<string, number>();
  for (
    const line of String(await redis.command("CLIENT", "LIST")).split("\n")
  ) {
    const fields = new Map(
      line.trim().split(" ").map((f) => f.split("=", 2) as [string, string]),
    );
    if (!fields.has("id") || FIXTURE_COMMANDS.has(fields.get("cmd")!)) continue;
    ages.set(fields.get("id")!, Number(fields.get("age")));
  }
  return ages;
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
    const ids = [...(await clientAges(redis)).keys()];
    assert.ok(ids.length > 0, "the link's connections are listed");
    // Redis 7 closes a client idle 2 s under `timeout 1` (its clock counts
    // whole seconds, from the last command of the connection's set-up):
    // the PINGs every 2.5 s let each connection be closed before it was 3
    // s old (it was, down and up). Each of the link's first connections
    // lived to 4 s, a second past that: none was closed, none reopened.
    await until(async () => {
      const ages = await clientAges(redis);
      const closed = ids.filter((id) => !ages.has(id));
      assert.deepEqual(closed, [], "connections closed by Redis");
      return ids.every((id) => ages.get(id)! >= 4);
    }, "the link's connections 4 s old");
    assert.ok(link.up);
    assert.deepEqual([...(await clientAges(redis)).keys()], ids);
    assert.deepEqual(
      lines.map((line) => JSON.parse(line).msg),
      ["cache.redis_up"],
    );
  } finally {
    await link.close();
  }
});
