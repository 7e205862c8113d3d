/**
 * Tests of the Redis test fixture: a real `redis-server` starts on a free
 * loopback port, keeps nothing on disk, stops, comes back empty on the
 * same port, and leaves no process or folder behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startRedis } from "./fixtures/redis.ts";
import { command, RespError } from "./fixtures/resp.ts";

async function refused(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test("startRedis runs a real redis-server that stops and restarts on its port", async () => {
  await using redis = await startRedis();
  assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
  assert.equal(redis.running, true);
  assert.equal(await redis.command("SET", "k", "v\r\nwith bytes"), "OK");
  assert.equal(await redis.command("GET", "k"), "v\r\nwith bytes");
  assert.equal(await redis.command("GET", "missing"), null);
  assert.equal(await redis.command("INCR", "n"), 1);
  assert.deepEqual(await redis.command("MGET", "k", "missing"), [
    "v\r\nwith bytes",
    null,
  ]);
  await assert.rejects(redis.command("NOSUCHCOMMAND"), RespError);
  // Nothing persisted, loopback only.
  assert.deepEqual(await redis.command("CONFIG", "GET", "save"), ["save", ""]);
  assert.deepEqual(await redis.command("CONFIG", "GET", "appendonly"), [
    "appendonly",
    "no",
  ]);
  assert.deepEqual(await redis.command("CONFIG", "GET", "bind"), [
    "bind",
    "127.0.0.1",
  ]);

  await redis.stop();
  assert.equal(redis.running, false);
  assert.ok(await refused(redis.port));
  await assert.rejects(command(redis.port, ["PING"]));

  await redis.restart();
  assert.equal(redis.running, true);
  assert.equal(await redis.command("PING"), "PONG");
  assert.equal(await redis.command("DBSIZE"), 0);

  await redis.kill();
  assert.ok(await refused(redis.port));
  await redis.restart();
  assert.equal(await redis.command("PING"), "PONG");
});

Deno.test("startRedis fails with what to install when the binary is missing", async () => {
  await assert.rejects(
    startRedis({ binary: "redis-server-that-does-not-exist" }),
    /apt-get install .*redis-server/,
  );
});

Deno.test("startRedis reports a server that cannot start", async () => {
  // The port is taken: redis-server exits, and the error says why.
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await assert.rejects(
    startRedis({ port: taken.addr.port }),
    /exited at start[\s\S]*(in use|bind)/i,
  );
});
