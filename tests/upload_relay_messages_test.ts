/**
 * The relayed upload events are held to one schema
 * (`services/uploads/event_schema.ts`): a message on
 * `async-api:uploads:events` not of its shape is dropped, and what the
 * schema takes reaches the streams. One instance and one real
 * `redis-server`; the messages are published by hand, as another instance
 * would. Before, the relay checked messages by hand and passed a `done`
 * whose id was empty or longer than an upload id to every stream.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startRedis } from "./fixtures/redis.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { nextEvent, serverSentEvents } from "./fixtures/sse.ts";
import { linkUp, newId } from "./fixtures/upload_events.ts";
import { until } from "./fixtures/until.ts";

const CHANNEL = "async-api:uploads:events";

Deno.test("REDIS_URL: relayed messages not of the events' schema are dropped, the others streamed", async () => {
  await using redis = await startRedis();
  await using one = await serveApp({ args: ["--redis-url", redis.url] });
  await until(() => linkUp(one), "Redis connected");
  const abort = new AbortController();
  const res = await fetch(`${one.url}/uploads/events`, {
    signal: AbortSignal.any([abort.signal, AbortSignal.timeout(10_000)]),
  });
  assert.equal(res.status, 200);
  const events = serverSentEvents(res.body!)[Symbol.asyncIterator]();
  await until(() => one.app.watchers.count === 1, "subscribed");
  const publish = (event: unknown) =>
    redis.command("PUBLISH", CHANNEL, JSON.stringify({ from: "other", event }));
  const bad = [
    { type: "done", id: "", result: {} },
    { type: "done", id: "a".repeat(129), result: {} },
    { type: "done", id: newId(), result: [] },
    { type: "failed", progress: { id: newId() }, outcome: "x", status: "413" },
    { type: "progress", uploads: [{ id: 7 }] },
    { type: "stored", id: newId() },
  ];
  for (const event of bad) await publish(event);
  const id = newId();
  await publish({
    type: "done",
    id,
    result: { id, size: 1, sha256Base64: "" },
  });
  const first = await nextEvent(events, (e) => e.event !== "");
  assert.equal(first.event, "done");
  assert.deepEqual(JSON.parse(first.data), { id, size: 1 });
  abort.abort();
  await events.next().catch(() => {});
});
