/**
 * A Redis that refuses SUBSCRIBE for a while on connections it keeps open.
 * The service's ACL user without channels (Redis 7 creates users with
 * `acl-pubsub-default resetchannels`, so a user made for the service, or
 * one reset, may subscribe to nothing until an operator grants `&*`): the
 * connections open and answer, but SUBSCRIBE answers `NOPERM`. Before, a
 * SUBSCRIBE refused on a new connection was never sent again: once the
 * channels were granted, the instance stayed subscribed to nothing until
 * restarted (`PUBSUB NUMSUB` 0; other instances' drops and upload events
 * never heard; every memory hit confirmed with Redis) while
 * `cache_redis_up` said 1 and the log said nothing after one
 * `cache.redis_down`. Now the SUBSCRIBE is sent again each PING period
 * while refused, and the connection counts as down meanwhile. And
 * `requirepass` set mid-run with the connections killed (commands answer
 * `NOAUTH`), then lifted: the instances subscribe again.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  appsOn,
  cachedOnBoth,
  linkOf,
  metric,
  patchTitle,
  read,
  recordingLogger,
  sharedArgs,
  sharedCache,
} from "./fixtures/redis_apps.ts";
import { type RedisServer, startRedis } from "./fixtures/redis.ts";
import { command } from "./fixtures/resp.ts";
import { until } from "./fixtures/until.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const PASSWORD = "rotated-too-soon";

/** How many clients are subscribed to `channel` (no password asked). */
async function subscribers(redis: RedisServer, channel: string) {
  const reply = await redis.command("PUBSUB", "NUMSUB", channel);
  assert.ok(Array.isArray(reply));
  return Number(reply[1]);
}

/** Commands refused for want of a password so far (INFO errorstats). */
async function refusals(redis: RedisServer): Promise<number> {
  const info = String(
    await command(redis.port, ["INFO", "errorstats"], { password: PASSWORD }),
  );
  return Number(/errorstat_NOAUTH:count=(\d+)/.exec(info)?.[1] ?? 0);
}

Deno.test("REDIS_URL: the service's ACL user without channels at start, granted them later: both instances subscribe without a restart, and B serves A's write", async () => {
  const { logger, msgs } = recordingLogger();
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await redis.command("ACL", "SETUSER", "default", "resetchannels");
  const args = sharedArgs(
    upstream.url,
    redis.url,
    "--redis-ping-interval-ms",
    "200",
  );
  await using apps = await appsOn(2, args, logger);
  const [a, b] = apps;
  const channel = "async-api:cache:filled";
  await until(async () => {
    const log = await redis.command("ACL", "LOG");
    return Array.isArray(log) && log.length > 0;
  }, "a SUBSCRIBE refused (ACL LOG)");
  // While refused, the link does not say it is up.
  for (const t of apps) {
    await until(
      async () => await metric(t, "cache_redis_up") === 0,
      "cache_redis_up 0 while refused",
    );
  }
  const linesBefore = msgs().length;

  await redis.command("ACL", "SETUSER", "default", "allchannels");
  await until(
    async () => await subscribers(redis, channel) === 2,
    "both instances subscribed once granted",
  );
  await until(
    () => linkOf(a).listening && linkOf(b).listening,
    "both instances listening",
  );
  assert.equal(await metric(b, "cache_redis_up"), 1);
  await cachedOnBoth(a, b, "/posts/1");
  await patchTitle(a, "/posts/1", "after the channels were granted");
  await until(
    async () =>
      (await read(b, "/posts/1")).body.title ===
        "after the channels were granted",
    "B serves A's write",
  );
  // Refused each PING period, said once: at most one up line each since.
  const said = msgs().slice(linesBefore).filter((m) =>
    /^cache\.redis_(down|up)$/.test(m)
  );
  assert.ok(said.length <= 2, said.join(", "));
});

Deno.test("REDIS_URL: a password required for a while (requirepass set mid-run, connections killed, then lifted): both instances subscribe again, and B serves A's write", async () => {
  const { logger, msgs } = recordingLogger();
  await using shared = await sharedCache(
    2,
    ["--redis-ping-interval-ms", "200"],
    logger,
  );
  const { redis, apps: [a, b] } = shared;
  const channel = "async-api:cache:filled";
  await cachedOnBoth(a, b, "/posts/1");

  await redis.command("CONFIG", "SET", "requirepass", PASSWORD);
  const auth = { password: PASSWORD };
  await command(redis.port, ["CLIENT", "KILL", "TYPE", "pubsub"], auth);
  await command(redis.port, ["CLIENT", "KILL", "TYPE", "normal"], auth);
  await until(
    async () => await refusals(redis) >= 4,
    "the instances' commands refused (NOAUTH)",
  );
  await until(
    () => !linkOf(a).listening && !linkOf(b).listening,
    "both instances not listening",
  );
  // While refused, the link does not say it is up.
  await until(
    async () => await metric(b, "cache_redis_up") === 0,
    "cache_redis_up 0 on B",
  );
  const linesBefore = msgs().length;

  await command(redis.port, ["CONFIG", "SET", "requirepass", ""], auth);
  await until(
    async () => await subscribers(redis, channel) === 2,
    "both instances subscribed again",
  );
  await until(
    () => linkOf(a).listening && linkOf(b).listening,
    "both instances listening again",
  );
  // The command connection, refused too, is up again at its next PING,
  // which may come after the subscriber's SUBSCRIBE.
  await until(
    async () => await metric(b, "cache_redis_up") === 1,
    "cache_redis_up 1 on B",
  );
  // B hears A's drop again: it serves the write, not its memory copy.
  await cachedOnBoth(a, b, "/posts/1");
  await patchTitle(a, "/posts/1", "after the password was lifted");
  await until(
    async () =>
      (await read(b, "/posts/1")).body.title ===
        "after the password was lifted",
    "B serves A's write",
  );
  // The refusals repeated each PING period were not each logged.
  const said = msgs().slice(linesBefore).filter((m) =>
    /^cache\.redis_(down|up)$/.test(m)
  );
  assert.ok(said.length <= 2, said.join(", "));
});
