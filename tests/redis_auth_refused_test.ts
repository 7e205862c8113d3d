/**
 * A Redis that refuses every command of a connection it keeps open. With
 * `requirepass` set (mid-run, or since a restart) and no password in
 * REDIS_URL, a command connection opened again passes the handshake (no
 * AUTH is sent) and node-redis says ready; each command then answers
 * `NOAUTH`. Its PINGs' refusals were ignored, so the link said it was up:
 * `cache_redis_up` 1, the log silent but for one `cache.redis_command_failed`
 * each 10 s, and each request paid a refused command before going to
 * memory or the upstream. Only a refused SUBSCRIBE made the link down, and
 * a subscriber that stays open stays subscribed. Now a refusal (`NOAUTH`,
 * `WRONGPASS`, `NOPERM` of a PING) makes the connection down, said with its
 * kind, commands are not sent meanwhile, and it is up again once a PING is
 * answered.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  RedisLink,
  RedisUnavailableError,
} from "../services/redis/redis_link.ts";
import { metric, recordingLogger, sharedCache } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { command, errorCount } from "./fixtures/resp.ts";
import { until } from "./fixtures/until.ts";

const PASSWORD = "set-while-running";
const auth = { password: PASSWORD };

Deno.test("Redis requirepass set mid-run, the command connection opened again without a password (NOAUTH): the link is down, said with its kind, sends no command, and is up again once the password is lifted", async () => {
  const { logger, records } = recordingLogger();
  await using redis = await startRedis();
  // No subscription: nothing else would make the link down.
  const link = new RedisLink({ url: redis.url, logger, pingIntervalMs: 200 });
  try {
    await until(() => link.up, "connected");
    await redis.command("CONFIG", "SET", "requirepass", PASSWORD);
    await command(redis.port, ["CLIENT", "KILL", "TYPE", "normal"], auth);
    await until(
      () => records().some((line) => line.kind === "NOAUTH"),
      "the refusal said with its kind",
    );
    assert.equal(link.up, false);
    const before = await errorCount(redis.port, "NOAUTH", auth);
    const calls = 20;
    for (let i = 0; i < calls; i++) {
      await assert.rejects(
        link.call((client) => client.get("k")),
        RedisUnavailableError,
      );
    }
    // Not sent: only the PINGs are refused meanwhile.
    const sent = await errorCount(redis.port, "NOAUTH", auth) - before;
    assert.ok(sent < calls, `${sent} commands refused for ${calls} calls`);

    await command(redis.port, ["CONFIG", "SET", "requirepass", ""], auth);
    await until(() => link.up, "up again once the password is lifted");
    await link.call((client) => client.set("k", "v"));
    assert.equal(String(await link.call((client) => client.get("k"))), "v");
  } finally {
    await link.close();
  }
  const said = records().filter((line) =>
    /^cache\.redis_(up|down)/.test(
      String(line.msg),
    )
  );
  const shown = JSON.stringify(said);
  assert.equal(said.at(-1)?.msg, "cache.redis_up", shown);
  // Refused at each PING period, said once.
  assert.equal(said.filter((line) => line.kind === "NOAUTH").length, 1, shown);
});

Deno.test("REDIS_URL: a PING refused by the ACL (NOPERM) makes the link down, and granting it makes it up again", async () => {
  const { logger, records } = recordingLogger();
  await using redis = await startRedis();
  const link = new RedisLink({ url: redis.url, logger, pingIntervalMs: 200 });
  try {
    await until(() => link.up, "connected");
    await redis.command("ACL", "SETUSER", "default", "-ping");
    await until(() => !link.up, "down while PING is refused");
    assert.ok(records().some((line) => line.kind === "NOPERM"), "NOPERM said");
    await command(redis.port, ["ACL", "SETUSER", "default", "+ping"]);
    await until(() => link.up, "up again once granted");
  } finally {
    await link.close();
  }
});

Deno.test("REDIS_URL without the password Redis now requires: cached GETs answer 200 throughout, cache_redis_up says 0 while refused and 1 once the password is lifted", async () => {
  await using shared = await sharedCache(1, [
    "--redis-ping-interval-ms",
    "200",
  ]);
  const { redis, apps: [app] } = shared;
  const paths = ["/posts/1", "/posts/2", "/users/1"];
  for (const path of paths) await (await app.get(path)).body?.cancel();
  assert.equal(await metric(app, "cache_redis_up"), 1);

  await redis.command("CONFIG", "SET", "requirepass", PASSWORD);
  // The subscriber stays open and subscribed: only commands are refused.
  await command(redis.port, ["CLIENT", "KILL", "TYPE", "normal"], auth);
  await until(
    async () => await errorCount(redis.port, "NOAUTH", auth) >= 3,
    "the connection opened again, its commands refused (NOAUTH)",
  );
  assert.equal(await metric(app, "cache_redis_up"), 0);
  for (let round = 0; round < 20; round++) {
    for (const path of paths) {
      const res = await app.get(path);
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
  }

  await command(redis.port, ["CONFIG", "SET", "requirepass", ""], auth);
  await until(
    async () => await metric(app, "cache_redis_up") === 1,
    "cache_redis_up 1 once the password is lifted",
  );
  const res = await app.get("/posts/1");
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
