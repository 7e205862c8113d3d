/**
 * A Redis command is timed against Redis, not against this process's own
 * event-loop delay: found by a cold-key stampede over three instances
 * behind nginx (1,000 concurrent GETs on 10 keys, load 6-8), where Redis
 * answered in well under a millisecond but each instance was busy for
 * more than `REDIS_TIMEOUT_MS` (100 ms) with the burst: the timers fired
 * before the answers waiting on the socket were read, so the commands
 * counted as timed out, the link held back commands for 1 s, and the
 * instances loaded the keys by themselves (up to 3 upstream requests per
 * key instead of 1; `cache_redis_timeouts_total` 7-27 per instance).
 *
 * The same delay at start-up (two `deno serve --parallel` workers loading
 * at once on a loaded machine) made the subscriber's first connection
 * attempt time out with its SUBSCRIBE queued: node-redis connected again
 * but never subscribed, and the link said it listened. The workers then
 * heard no drops: after a write through another instance they served
 * their old copies until the TTL, and no upload events of other instances.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { type RedisCommands, RedisLink } from "../services/redis/redis_link.ts";
import { startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";

/** Keeps the event loop from running for `ms`, as a burst of work does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Work that does not yield: nothing else runs meanwhile.
  }
}

/**
 * Calls `command` through `link` five times, each right before `busyMs`
 * of this process's own work (node-redis writes a command on a later turn
 * of the event loop: after that work); the answers as strings, or the
 * names of the errors.
 */
async function callsBeforeBusyWork(
  link: RedisLink,
  command: (client: RedisCommands) => Promise<unknown>,
  busyMs = 250,
): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < 5; i++) {
    let failed = false;
    const answered = link.call(command).then(
      (value) => String(value),
      (error: Error) => {
        failed = true;
        return error.name;
      },
    );
    busy(busyMs);
    answers.push(await answered);
    // Past a timeout's pause (1 s), should this one have failed, so the
    // next call is not refused for it. Not after an answer: 5.5 s of each
    // test's 6-8 s went to these pauses with nothing to wait for.
    if (failed) await sleep(1_100);
  }
  return answers;
}

Deno.test("RedisLink: a command whose answer waits behind this process's own work is not a timeout", async () => {
  await using redis = await startRedis();
  const link = new RedisLink({ url: redis.url, timeoutMs: 100 });
  try {
    await until(() => link.up, "Redis connected");
    assert.equal(await redis.command("SET", "k", "v"), "OK");
    const answers = await callsBeforeBusyWork(
      link,
      (client) => client.get("k"),
    );
    assert.deepEqual(answers, ["v", "v", "v", "v", "v"]);
    assert.equal(link.timeouts, 0);
  } finally {
    await link.close();
  }
});

// A command that takes Redis 30 ms of its own (a Lua loop on its clock),
// well within the timeout.
const THIRTY_MS = "local t = redis.call('TIME') " +
  "local start = t[1] * 1000000 + t[2] " +
  "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= 30000 " +
  "return 'v'";

Deno.test("RedisLink: a command called right before this process's own work gets the whole timeout after it (the command leaves only then)", async () => {
  await using redis = await startRedis();
  // 200 ms, past the script's 30: on a loaded machine Redis itself may wait
  // for a core (100 ms failed under other suites' load); the work after
  // the call is longer still, so a timer started before it would fire.
  const link = new RedisLink({ url: redis.url, timeoutMs: 200 });
  try {
    await until(() => link.up, "Redis connected");
    const answers = await callsBeforeBusyWork(
      link,
      (client) => client.eval(THIRTY_MS),
      400,
    );
    assert.deepEqual(answers, ["v", "v", "v", "v", "v"]);
    assert.equal(link.timeouts, 0);
  } finally {
    await link.close();
  }
});

Deno.test("RedisLink: a Redis that does not answer still times out after timeoutMs", async () => {
  await using redis = await startRedis();
  const link = new RedisLink({ url: redis.url, timeoutMs: 100 });
  try {
    await until(() => link.up, "Redis connected");
    // Paused 30 times the timeout: the call can only end by timing out
    // (an answer would come only after the pause), and a rejection is that;
    // not before timeoutMs, a lower bound which load cannot break. (UNPAUSE
    // below waits out the pause: the fixture's connection is paused too.)
    assert.equal(await redis.command("CLIENT", "PAUSE", "3000", "ALL"), "OK");
    const started = performance.now();
    await assert.rejects(
      link.call((client) => client.get("k")),
      { name: "RedisUnavailableError" },
    );
    const ms = performance.now() - started;
    assert.ok(ms >= 100, `rejected after ${ms} ms`);
    assert.equal(link.timeouts, 1);
    assert.equal(link.usable, false);
  } finally {
    await redis.command("CLIENT", "UNPAUSE");
    await link.close();
  }
});

Deno.test("RedisLink: a subscriber whose first connection timed out behind this process's own work is subscribed once connected", async () => {
  await using redis = await startRedis();
  const heard: string[] = [];
  const link = new RedisLink({
    url: redis.url,
    channel: "test:channel",
    onMessage: (message) => heard.push(message),
  });
  try {
    // The start's own work, longer than the connection timeout (1 s).
    busy(1_500);
    await until(() => link.up && link.listening, "subscribed");
    await until(async () => {
      await redis.command("PUBLISH", "test:channel", "hello");
      await sleep(50);
      return heard.length > 0;
    }, "a message heard");
    assert.equal(heard[0], "hello");
    const [, count] = await redis.command(
      "PUBSUB",
      "NUMSUB",
      "test:channel",
    ) as [string, number];
    assert.equal(count, 1);
  } finally {
    await link.close();
  }
});
