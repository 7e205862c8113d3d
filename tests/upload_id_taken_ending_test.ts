/**
 * An upload refused 409 because its `Upload-Id` was taken (a file of that
 * id is stored, or another upload of it runs, here or in another process)
 * is not how the upload of that id ended: the streams of
 * `GET /uploads/events?id=` wait on for the upload that holds the id, and
 * the ending kept for late subscribers (here and in Redis) stays that
 * upload's. Before, the refused attempt's `failed` (409) ended every
 * watcher's stream and replaced the ending everywhere: a client that
 * retried its upload under the same id after the 201 was lost made every
 * later subscriber of the stored file hear `failed`, and a retry sent to a
 * second instance while the first still ran told the first's watchers
 * their upload failed while it went on and was stored.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { makeChunks } from "./fixtures/pipeline_sources.ts";
import { nextEvent } from "./fixtures/sse.ts";
import { until } from "./fixtures/until.ts";
import { stalledBody } from "./fixtures/upload_client.ts";
import {
  CHUNK,
  newId,
  receivedOn,
  redisPair,
  slowBody,
  subscribe,
  upload,
} from "./fixtures/upload_events.ts";

/** The first named event of `?id=` on `origin`, and whether the stream ended. */
async function firstEnding(
  origin: string,
  id: string,
  ms: number,
): Promise<{ event: string; data: Record<string, unknown> }> {
  const events = await subscribe(origin, id, ms);
  const ending = await nextEvent(
    events,
    (e) => e.event === "done" || e.event === "failed",
  );
  assert.equal(ending.id, "ended");
  assert.equal((await events.next()).done, true, "the stream ends");
  return { event: ending.event, data: JSON.parse(ending.data) };
}

Deno.test("a retry of a stored Upload-Id is 409, and a later subscriber of the id still hears done", async () => {
  await using one = await serveApp({});
  const id = newId();
  assert.equal(await upload(one.url, id, slowBody(3, 1)), 201);
  assert.equal(await upload(one.url, id, slowBody(3, 1)), 409);
  const ending = await firstEnding(one.url, id, 3_000);
  assert.equal(ending.event, "done", JSON.stringify(ending.data));
  assert.equal(ending.data.size, 3 * CHUNK);
});

Deno.test("REDIS_URL: a retry refused 409 on B while A uploads the id leaves A's watchers waiting for A's done", async () => {
  await using pair = await redisPair();
  const { a, b, redis } = pair;
  const id = newId();
  const onA = subscribe(a.url, id, 15_000);
  const onB = subscribe(b.url, id, 15_000);
  const [watchA, watchB] = await Promise.all([onA, onB]);
  // A holds its body's end until B, asked for the same id meanwhile (one
  // DATA_DIR), has refused it; B is asked once A has received bytes.
  const body = stalledBody(makeChunks(20, CHUNK));
  const first = upload(a.url, id, body.stream);
  await until(
    async () => await receivedOn(a.url, id) > 0,
    "A receiving the upload",
  );
  try {
    assert.equal(await upload(b.url, id, slowBody(2, 1)), 409);
  } finally {
    body.release();
  }
  assert.equal(await first, 201);
  for (const events of [watchA, watchB]) {
    const ending = await nextEvent(
      events,
      (e) => e.event === "done" || e.event === "failed",
    );
    assert.equal(ending.event, "done", ending.data);
    assert.equal(JSON.parse(ending.data).size, 20 * CHUNK);
  }
  // The ending kept in Redis is A's, for subscribers in any instance.
  for (const origin of [a.url, b.url]) {
    const late = await firstEnding(origin, id, 3_000);
    assert.equal(late.event, "done", JSON.stringify(late.data));
  }
  const kept = await redis.command("GET", `async-api:uploads:ended:${id}`);
  assert.equal(JSON.parse(String(kept)).type, "done");
});
