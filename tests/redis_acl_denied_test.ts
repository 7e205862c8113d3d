/**
 * A Redis whose ACL lets the service's user connect and PING but refuses
 * one command the cache sends. Before, each refusal was one more miss,
 * said as a generic `cache.redis_command_failed` each 10 s: without
 * `+eval` every shared read missed, and every single-flight lock taken was
 * left for the other instances to wait out (its release is a script), and
 * nothing named the command. Now the refusal is said once per command with
 * the ACL rule that grants it (`cache.redis_command_denied`), counted by
 * command (`cache_redis_command_denials_total{command}`), and no lock is
 * taken while its release is refused. A user granted exactly the rule the
 * service documents (`ACL_NEEDED`) is refused nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ACL_NEEDED } from "../services/redis/redis_denials.ts";
import type { TestApp } from "./fixtures/app.ts";
import {
  appsOn,
  linkOf,
  patchTitle,
  read,
  recordingLogger,
  sharedArgs,
  sharedCache,
} from "./fixtures/redis_apps.ts";
import { type RedisServer, startRedis } from "./fixtures/redis.ts";
import { errorCount } from "./fixtures/resp.ts";
import { until } from "./fixtures/until.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** `name{command="<command>"}` in `t`'s `/metrics`, 0 when absent. */
async function byCommand(t: TestApp, name: string, command: string) {
  const text = await (await t.get("/metrics")).text();
  const line = text.split("\n")
    .find((l) => l.startsWith(`${name}{command="${command}"} `));
  return Number(line?.split(" ")[1] ?? 0);
}

/** How many times Redis ran `command` since its last `CONFIG RESETSTAT`. */
async function calls(redis: RedisServer, command: string): Promise<number> {
  const info = String(await redis.command("INFO", "commandstats"));
  const found = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return Number(found?.[1] ?? 0);
}

Deno.test("Redis ACL without +eval: said once naming eval and +eval, counted by command, GETs answer 200, and no lock is taken while its release is refused", async () => {
  const { logger, records } = recordingLogger();
  await using shared = await sharedCache(1, [], logger);
  const { redis, apps: [app] } = shared;
  await redis.command("ACL", "SETUSER", "default", "-eval");
  // The first cold key: its read and its lock's release are refused.
  assert.equal((await read(app, "/posts/1")).body.title !== undefined, true);
  await until(
    () => records().some((r) => r.msg === "cache.redis_command_denied"),
    "the refusal said",
  );
  await redis.command("CONFIG", "RESETSTAT");
  const cold = ["/posts/2", "/posts/3", "/users/1", "/users/2"];
  for (const path of cold) await read(app, path);
  for (let round = 0; round < 5; round++) {
    for (const path of cold) await read(app, path);
  }
  // One SET each (the entry), no `SET NX` lock beside it: a lock whose
  // release is refused stays for other instances to wait out.
  assert.equal(await calls(redis, "set"), cold.length);
  const denied = records().filter((r) =>
    r.msg === "cache.redis_command_denied"
  );
  assert.equal(denied.length, 1, JSON.stringify(denied));
  assert.equal(denied[0]?.command, "eval");
  assert.equal(denied[0]?.acl, "+eval");
  assert.equal(denied[0]?.needs, ACL_NEEDED);
  // Not said again as a generic failure.
  assert.ok(!records().some((r) => r.msg === "cache.redis_command_failed"));
  assert.ok(
    await byCommand(app, "cache_redis_command_denials_total", "eval") >=
      1 + cold.length,
  );
  assert.equal(linkOf(app).up, true, "PING answers: the link stays up");
});

Deno.test("Redis ACL whose release script's PUBLISH is refused (EVAL allowed): said once as a script's command, and no lock is taken while refused", async () => {
  const { logger, records } = recordingLogger();
  await using shared = await sharedCache(1, [], logger);
  const { redis, apps: [app] } = shared;
  await redis.command("ACL", "SETUSER", "default", "-publish");
  await read(app, "/posts/1");
  await until(
    () => records().some((r) => r.command === "script"),
    "the script's refusal said",
  );
  await redis.command("CONFIG", "RESETSTAT");
  for (const path of ["/posts/2", "/posts/3", "/users/1"]) {
    await read(app, path);
  }
  assert.equal(await calls(redis, "set"), 3, "one SET per entry, no lock");
  assert.equal(
    records().filter((r) => r.command === "script").length,
    1,
  );
});

Deno.test("Redis ACL user granted exactly ACL_NEEDED: two instances read, write, share drops and fill each other's misses with nothing refused", async () => {
  const { logger, records } = recordingLogger();
  await using upstream = startFixtureUpstream();
  await using redis = await startRedis();
  await redis.command(
    "ACL",
    "SETUSER",
    "svc",
    "on",
    ">svc-secret",
    "resetchannels",
    ...ACL_NEEDED.split(" "),
  );
  const url = redis.url.replace("redis://", "redis://svc:svc-secret@");
  const args = sharedArgs(upstream.url, url);
  await using apps = await appsOn(2, args, logger);
  const [a, b] = apps;
  for (const t of apps) await until(() => linkOf(t).up, "connected");
  await read(a, "/posts/1");
  assert.ok((await read(b, "/posts/1")).hit, "B reads A's entry from Redis");
  await patchTitle(a, "/posts/1", "granted exactly");
  await until(
    async () => (await read(b, "/posts/1")).body.title === "granted exactly",
    "B serves A's write",
  );
  await Promise.all([read(a, "/users/3"), read(b, "/users/3")]);
  assert.equal(await errorCount(redis.port, "NOPERM"), 0);
  // Refusals inside scripts answer ERR, but Redis logs every refusal.
  assert.deepEqual(await redis.command("ACL", "LOG"), []);
  assert.ok(
    !records().some((r) => r.msg === "cache.redis_command_denied"),
    JSON.stringify(records().filter((r) => r.level === "warn")),
  );
});
