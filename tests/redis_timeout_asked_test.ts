/**
 * Redis's idle `timeout`, read by each connection (`CONFIG GET timeout`)
 * to pace its PINGs, as it changes across restarts and is refused. It is
 * asked again on each connection: a Redis restarted (or failed over) may
 * have another `timeout`. Before, the PING period only ever went down: a
 * Redis restarted with `timeout 0` after `timeout 1` was PINGed every
 * 500 ms for good instead of every `pingIntervalMs`. And a CONFIG refused
 * (ACL without `+config|get`, `rename-command CONFIG ""`) was silent: with
 * a short `timeout` the connection then flapped with nothing saying why.
 * Now the period follows each answer, and a refusal is said once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RedisLink } from "../services/redis/redis_link.ts";
import { recordingLogger } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";
import { pingingConnection } from "./fixtures/redis_pinging.ts";

Deno.test("Redis restarted with another timeout: the PING period follows it on each connection, back up to pingIntervalMs with timeout 0, and stays as it was when CONFIG is refused", async () => {
  await using redis = await startRedis();
  await redis.command("CONFIG", "SET", "timeout", "1");
  const refusals: Error[] = [];
  const conn = pingingConnection(redis.url, {
    denied: (error) => refusals.push(error),
  });
  try {
    await until(() => conn.pingIntervalMs === 500, "fitted to timeout 1");
    await redis.restart(); // Started again with the default `timeout 0`.
    await until(
      () => conn.pingIntervalMs === 2500,
      "back to pingIntervalMs once Redis has no timeout",
    );
    await redis.command("CONFIG", "SET", "timeout", "2");
    await redis.command("CLIENT", "KILL", "TYPE", "normal");
    await until(() => conn.pingIntervalMs === 1000, "fitted to timeout 2");
    await redis.command("ACL", "SETUSER", "default", "-config|get");
    await redis.command("CLIENT", "KILL", "TYPE", "normal");
    await until(() => refusals.length > 0, "the refused CONFIG GET told");
    assert.match(refusals[0]?.message ?? "", /NOPERM.*config\|get/);
    assert.equal(conn.pingIntervalMs, 1000, "kept: the last timeout known");
  } finally {
    conn.close();
  }
});

Deno.test('Redis with rename-command CONFIG "": the link is up, and the unknown CONFIG is said once, naming what stops', async () => {
  const { logger, records } = recordingLogger();
  await using redis = await startRedis({
    args: ["--rename-command", "CONFIG", ""],
  });
  const link = new RedisLink({ url: redis.url, logger, pingIntervalMs: 200 });
  try {
    await until(() => link.up, "connected");
    await until(
      () => records().some((r) => r.msg === "cache.redis_command_denied"),
      "the unknown CONFIG said",
    );
    // Asked again on each connection, refused again: counted, not said.
    const before = link.denials.get("config") ?? 0;
    await redis.command("CLIENT", "KILL", "TYPE", "normal");
    await until(() => (link.denials.get("config") ?? 0) > before, "again");
    await until(() => link.up, "up again");
  } finally {
    await link.close();
  }
  const said = records().filter((r) => r.msg === "cache.redis_command_denied");
  assert.equal(said.length, 1, JSON.stringify(said));
  assert.equal(said[0]?.command, "config");
  assert.match(String(said[0]?.acl), /rename-command/);
  assert.match(String(said[0]?.stops), /REDIS_PING_INTERVAL_MS/);
});
