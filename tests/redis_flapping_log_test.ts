/**
 * What the log says of a flapping link to Redis. 150 `CLIENT KILL`s in 30 s
 * under load wrote 652 lines, 2-3 a flap (`cache.redis_down`,
 * `cache.redis_resubscribed`, `cache.redis_up`). Now the first
 * `FLAPS_TOLD` losses in the window are said one by one and the short
 * ones after are counted in `cache.redis_flapping` (one line per 10 s, and
 * the rest at close), while a lasting outage in the middle of it is still
 * said (`cache.redis_down`, then `cache.redis_up`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { FLAPS_TOLD } from "../services/redis/redis_health.ts";
import { linkOf, recordingLogger, sharedCache } from "./fixtures/redis_apps.ts";
import type { RedisServer } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";

/** Flaps made, several times those said one by one. */
const FLAPS = 40;

/** The id of the subscriber connection, once it is subscribed. */
async function subscriberId(redis: RedisServer): Promise<string | undefined> {
  const list = String(await redis.command("CLIENT", "LIST", "TYPE", "pubsub"));
  return /id=(\d+) .*\bsub=[1-9]/.exec(list)?.[1];
}

Deno.test("REDIS_URL: a link flapping 40 times, then Redis stopped for a while: the first flaps said one by one, the others counted, the outage and its end said", async () => {
  const { logger, records } = recordingLogger();
  const said = (msg: string, from = 0) =>
    records().slice(from).filter((line) => line.msg === msg);
  {
    await using shared = await sharedCache(
      1,
      ["--redis-ping-interval-ms", "200"],
      logger,
    );
    const { redis, apps: [app] } = shared;
    const link = linkOf(app);
    for (let i = 0; i < FLAPS; i++) {
      const before = await subscriberId(redis);
      await redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      await until(async () => {
        const now = await subscriberId(redis);
        return now !== undefined && now !== before && link.listening &&
          link.up;
      }, `flap ${i + 1}: subscribed again`);
    }
    const beforeOutage = records().length;
    await redis.stop();
    await until(
      () => said("cache.redis_down", beforeOutage).length > 0,
      "the outage said while flapping",
    );
    await redis.restart();
    await until(
      () => said("cache.redis_up", beforeOutage).length > 0,
      "its end said",
    );
  }
  const shown = JSON.stringify(
    records().filter((l) =>
      /^cache\.redis_/.test(
        String(l.msg),
      )
    ),
  );
  const downs = said("cache.redis_down").length;
  // One by one: the first FLAPS_TOLD losses, then the outage.
  assert.equal(downs, FLAPS_TOLD + 1, shown);
  assert.ok(said("cache.redis_up").length <= FLAPS_TOLD + 2, shown);
  assert.ok(said("cache.redis_resubscribed").length <= FLAPS_TOLD + 1, shown);
  // Every other flap counted, by its first error.
  const flapping = said("cache.redis_flapping");
  const counted = flapping.reduce(
    (sum, line) =>
      sum +
      Object.values(line.flaps as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      ),
    0,
  );
  assert.ok(counted >= FLAPS - FLAPS_TOLD, shown);
  // The outage comes after the flaps were told (none left for later).
  const lines = records();
  const outage = lines.findLastIndex((l) => l.msg === "cache.redis_down");
  assert.ok(
    lines.findLastIndex((l) => l.msg === "cache.redis_flapping") < outage,
    shown,
  );
});
