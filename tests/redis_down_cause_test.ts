/**
 * What the log says of a Redis that refuses the service's password while
 * down. After a password rotation (`WRONGPASS`) or `requirepass` set
 * mid-run (`NOAUTH`), with the connections killed, the first error is the
 * socket closed, and the refusal comes with each reconnection after it.
 * `cache.redis_down` was said once per change of state, naming only that
 * first error: the operator never learnt that the password was the cause.
 * Now each new kind of cause while down is said once more
 * (`cache.redis_down_cause`), and a kind repeated by each reconnection is
 * not. Redis at its `maxclients` is named so (`maxclients`), not a bare
 * `ERR`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Logger } from "../services/ops/logger.ts";
import { RedisLink } from "../services/redis/redis_link.ts";
import { recordingLogger } from "./fixtures/redis_apps.ts";
import { startRedis } from "./fixtures/redis.ts";
import { command, errorCount } from "./fixtures/resp.ts";
import { until } from "./fixtures/until.ts";

const OLD = "before-the-rotation";
const NEW = "after-the-rotation";

/**
 * A link to `url` with a subscriber, as the cache has (a refused SUBSCRIBE
 * keeps the link down), PINGing every 200 ms.
 */
function subscribedLink(url: URL, logger: Logger): RedisLink {
  return new RedisLink({
    url: url.href,
    logger,
    pingIntervalMs: 200,
    onMessage: () => {},
  });
}

/**
 * Runs a link on `url` while Redis's password becomes `NEW` and its
 * connections are killed; resolves the lines logged until Redis took the
 * link again (the password set back to what the link has).
 */
async function refusedWhileDown(
  code: "WRONGPASS" | "NOAUTH",
  password: string | undefined,
): Promise<Record<string, unknown>[]> {
  const { logger, records } = recordingLogger();
  await using redis = await startRedis();
  if (password) await redis.command("CONFIG", "SET", "requirepass", password);
  const url = new URL(redis.url);
  if (password) url.password = password;
  const link = subscribedLink(url, logger);
  try {
    await until(() => link.up, "connected");
    const auth = password ? { password } : {};
    const asNew = { password: NEW };
    await command(redis.port, ["CONFIG", "SET", "requirepass", NEW], auth);
    // The subscriber first: refused its SUBSCRIBE, it stays down (with
    // NOAUTH the command connection itself opens again at once).
    await command(redis.port, ["CLIENT", "KILL", "TYPE", "pubsub"], asNew);
    await command(redis.port, ["CLIENT", "KILL", "TYPE", "normal"], asNew);
    await until(
      () => records().some((line) => String(line.error).startsWith(code)),
      `${code} in the log`,
    );
    // Refused again on each reconnection, said once.
    await until(
      async () => await errorCount(redis.port, code, { password: NEW }) >= 6,
      `${code} several times (INFO errorstats)`,
    );
    await command(
      redis.port,
      ["CONFIG", "SET", "requirepass", password ?? ""],
      asNew,
    );
    await until(() => link.up, "connected again");
  } finally {
    await link.close();
  }
  return records().filter((line) => /^cache\.redis_/.test(String(line.msg)));
}

/** Asserts one loss, its cause `code` said once, and the return. */
function saysCauseOnce(lines: Record<string, unknown>[], code: string) {
  const msgs = lines.map((line) => line.msg);
  const shown = JSON.stringify(lines);
  assert.equal(msgs.filter((m) => m === "cache.redis_down").length, 1, shown);
  assert.equal(msgs.at(-1), "cache.redis_up", shown);
  const naming = lines.filter((line) => String(line.error).startsWith(code));
  assert.equal(naming.length, 1, shown);
  assert.equal(naming[0]?.kind, code);
  // No kind said twice in the one outage.
  const kinds = lines.filter((line) => line.kind).map((line) => line.kind);
  assert.equal(new Set(kinds).size, kinds.length, shown);
  assert.ok(lines.every((line) => !JSON.stringify(line).includes(NEW)));
}

Deno.test("Redis password rotated mid-run (WRONGPASS), connections killed: the log names the refusal once, beside the socket closed", async () => {
  saysCauseOnce(await refusedWhileDown("WRONGPASS", OLD), "WRONGPASS");
});

Deno.test("Redis requirepass set mid-run (NOAUTH), connections killed: the log names the refusal once, beside the socket closed", async () => {
  saysCauseOnce(await refusedWhileDown("NOAUTH", undefined), "NOAUTH");
});

/** One RESP command on `conn`; resolves the reply's first line. */
async function send(conn: Deno.Conn, args: string[]): Promise<string> {
  const wire = `*${args.length}\r\n` +
    args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join("");
  await conn.write(new TextEncoder().encode(wire));
  const buffer = new Uint8Array(1024);
  let reply = "";
  while (!reply.includes("\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`closed after ${reply}`);
    reply += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return reply.split("\r\n")[0]!;
}

Deno.test("Redis at maxclients, a password in REDIS_URL: the log names 'maxclients', not a bare ERR, and the link comes up once a slot is free", async () => {
  const { logger, records } = recordingLogger();
  await using redis = await startRedis();
  const password = "pw-maxclients";
  await redis.command("CONFIG", "SET", "requirepass", password);
  await command(redis.port, ["CONFIG", "SET", "maxclients", "1"], {
    password,
  });
  // Another client holds the one slot.
  using holder = await Deno.connect({
    hostname: "127.0.0.1",
    port: redis.port,
  });
  assert.equal(await send(holder, ["AUTH", password]), "+OK");
  const url = new URL(redis.url);
  url.password = password;
  const link = subscribedLink(url, logger);
  try {
    await until(
      () => records().some((line) => line.kind === "maxclients"),
      "maxclients in the log",
    );
    // Was: kind "ERR", which names nothing to raise.
    const named = records().find((line) => line.kind === "maxclients")!;
    assert.match(String(named.error), /max number of clients reached/);
    assert.ok(!records().some((line) => line.kind === "ERR"));
    assert.equal(
      await send(holder, ["CONFIG", "SET", "maxclients", "100"]),
      "+OK",
    );
    await until(() => link.up, "connected once slots are free");
  } finally {
    await link.close();
  }
});

Deno.test("Redis at maxclients, no password in REDIS_URL: the log names 'maxclients' too, never node-redis's TypeError, and the link comes up once a slot is free", async () => {
  const { logger, records } = recordingLogger();
  await using redis = await startRedis();
  // Another client holds the one slot.
  using holder = await Deno.connect({
    hostname: "127.0.0.1",
    port: redis.port,
  });
  assert.equal(await send(holder, ["CONFIG", "SET", "maxclients", "1"]), "+OK");
  const link = subscribedLink(new URL(redis.url), logger);
  try {
    // Was: node-redis's CLIENT SETINFO took Redis's refusal and ignored
    // it ("Socket closed unexpectedly"); without SETINFO, a TypeError.
    await until(
      () => records().some((line) => line.kind === "maxclients"),
      "maxclients in the log",
    );
    const named = records().find((line) => line.kind === "maxclients")!;
    assert.match(String(named.error), /max number of clients reached/);
    assert.equal(
      await send(holder, ["CONFIG", "SET", "maxclients", "100"]),
      "+OK",
    );
    await until(() => link.up, "connected once slots are free");
    assert.ok(!records().some((line) => line.kind === "TypeError"));
  } finally {
    await link.close();
  }
});
