/**
 * What a fresh `redis-server` 7.0 (Debian 12's) saw of one instance
 * connecting. node-redis sent `CLIENT SETINFO LIB-NAME` and `LIB-VER` at
 * each handshake, unknown before Redis 7.2 (and refused by an ACL without
 * `+client|setinfo`, or a managed Redis that renames CLIENT): 4 `ERR`
 * replies per start, ignored by node-redis, counted in Redis's
 * `errorstat_ERR` where operators alert. And the subscriber asked `CONFIG
 * GET timeout` after its SUBSCRIBEs, which Redis refuses in subscribe mode
 * ("only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are
 * allowed in this context"): one more `ERR`, unsaid in our log, and the
 * subscriber's PINGs never fitted to Redis's `timeout`. Now no SETINFO is
 * sent, and the subscriber's PING period follows the command connection's
 * answer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RedisLink } from "../services/redis/redis_link.ts";
import { recordingLogger } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";
import { pingingConnection } from "./fixtures/redis_pinging.ts";

Deno.test("REDIS_URL on a fresh Redis: connecting, subscribing and PINGing get no error reply, CLIENT SETINFO is not sent, CONFIG GET is never refused", async () => {
  await using redis = await startRedis();
  const { logger, msgs } = recordingLogger();
  const link = new RedisLink({
    url: redis.url,
    logger,
    pingIntervalMs: 200,
    onMessage: () => {},
  });
  try {
    await until(() => link.up, "connected");
    // Both connections' first PINGs answered after their handshakes.
    await until(async () => {
      const stats = String(await redis.command("INFO", "commandstats"));
      return Number(/cmdstat_ping:calls=(\d+)/.exec(stats)?.[1] ?? 0) >= 4;
    }, "PINGs on both connections");
    const errors = String(await redis.command("INFO", "errorstats"));
    assert.doesNotMatch(errors, /errorstat_/, errors);
    const stats = String(await redis.command("INFO", "commandstats"));
    assert.doesNotMatch(stats, /client\|setinfo/, stats);
    const config = /cmdstat_config\|get:calls=(\d+),.*rejected_calls=(\d+)/
      .exec(stats);
    assert.deepEqual(config?.slice(1), ["1", "0"], "asked once, not refused");
    assert.deepEqual(msgs(), ["cache.redis_up"]);
  } finally {
    await link.close();
  }
});

Deno.test("Redis timeout 1: the subscriber's PINGs follow the command connection's CONFIG GET timeout, asked once per command connection", async () => {
  await using redis = await startRedis();
  await redis.command("CONFIG", "SET", "timeout", "1");
  const commands = pingingConnection(redis.url);
  const subscriber = pingingConnection(redis.url, { pacedBy: commands });
  subscriber.subscribe("async-api:test", () => {});
  try {
    await until(() => subscriber.ready, "subscribed");
    await until(() => subscriber.pingIntervalMs === 500, "fitted to 1 s");
    assert.equal(commands.pingIntervalMs, 500);
    await redis.command("CONFIG", "SET", "timeout", "0");
    await redis.command("CLIENT", "KILL", "TYPE", "normal");
    await until(
      () => subscriber.pingIntervalMs === 2500,
      "back to pingIntervalMs with the new answer",
    );
    const stats = String(await redis.command("INFO", "commandstats"));
    assert.match(stats, /cmdstat_config\|get:calls=2,.*rejected_calls=0,/);
  } finally {
    subscriber.close();
    commands.close();
  }
});
