/**
 * Tests of `GET /uploads/events` on a real server over loopback: the
 * stream's headers (no compression, no caching), `progress` then `done`
 * with the verdict for a real upload, `failed` for one whose client went
 * away, a subscriber that disconnects (removed, no timer left behind), the
 * subscriber cap, the end of the streams at shutdown, and a slow
 * subscriber dropped without slowing anything.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UploadBoard } from "../services/uploads/board.ts";
import {
  UploadWatchers,
  type WatcherChange,
} from "../services/uploads/watchers.ts";
import { testApp } from "./fixtures/app.ts";
import { within } from "./fixtures/files_service.ts";
import { nextEvent, serverSentEvents } from "./fixtures/sse.ts";
import { stalledBody } from "./fixtures/upload_client.ts";

const ID = "0192a1b2c3d4e5f60718293a4b5c6d7e";

async function waitFor(what: string, test: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !test(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(test(), what);
}

async function served(args: string[] = []) {
  const t = await testApp(args);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    t.app.fetch,
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    t,
    origin,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await t[Symbol.asyncDispose]();
    },
  };
}

Deno.test("a real upload streams progress, then done with the verdict; the stream is not compressed", async () => {
  await using s = await served();
  const res = await fetch(`${s.origin}/uploads/events?id=${ID}`, {
    headers: { "accept-encoding": "gzip, br" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  assert.equal(res.headers.get("cache-control"), "no-cache, no-transform");
  assert.equal(res.headers.get("content-encoding"), null);
  assert.equal(res.headers.get("x-accel-buffering"), "no");
  const events = serverSentEvents(res.body!)[Symbol.asyncIterator]();

  const chunk = new Uint8Array(256 * 1024).fill(1);
  const body = stalledBody([chunk, chunk]);
  const upload = fetch(`${s.origin}/files`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", "upload-id": ID },
    body: body.stream,
  });
  const seen: { event: string; data: string }[] = [];
  const progress = await nextEvent(
    events,
    (e) => e.event === "progress" && JSON.parse(e.data).bytesReceived > 0,
    seen,
  );
  const figures = JSON.parse(progress.data);
  assert.equal(figures.id, ID);
  assert.equal(figures.bound, "read");
  assert.ok(figures.queueCapacityBytes > 0);
  // Updates while it stalls: once both chunks are all in, no byte can
  // come until the body is released, yet progress still comes (on the
  // service's tick, not on bytes). Shown by order, bounded as a hang.
  const all = 2 * chunk.byteLength;
  const received = (e: { data: string }) => JSON.parse(e.data).bytesReceived;
  const isProgress = (e: { event: string }) => e.event === "progress";
  try {
    await within(
      nextEvent(events, (e) => isProgress(e) && received(e) === all, seen),
      "both chunks all in",
    );
    const ticks = await within(
      (async () => [
        await nextEvent(events, isProgress, seen),
        await nextEvent(events, isProgress, seen),
      ])(),
      "progress while the upload stalls",
    );
    assert.deepEqual(ticks.map(received), [all, all]);
  } finally {
    body.release();
  }
  const done = await nextEvent(events, (e) => e.event === "done", seen);
  const result = JSON.parse(done.data);
  const answer = await (await upload).json();
  assert.equal(result.id, ID);
  assert.equal(result.size, 2 * chunk.byteLength);
  assert.equal(result.sha256, answer.sha256);
  assert.equal(result.bound, answer.bound);
  assert.equal(result.bound, "read");
  assert.equal(result.sha256Base64, undefined);
  // Only this upload's events; no progress after its end.
  assert.ok(
    seen.every((e) => e.event !== "progress" || JSON.parse(e.data).id === ID),
  );
  // A subscriber of one upload: its stream ends with that upload.
  assert.equal((await events.next()).done, true);
  await waitFor(
    "the subscriber is removed",
    () => s.t.app.watchers.count === 0,
  );
});

Deno.test("an upload whose client goes away ends with a failed event", async () => {
  await using s = await served();
  const res = await fetch(`${s.origin}/uploads/events`);
  const events = serverSentEvents(res.body!)[Symbol.asyncIterator]();
  const chunk = new Uint8Array(64 * 1024).fill(2);
  const body = stalledBody([chunk]);
  const client = new AbortController();
  const upload = fetch(`${s.origin}/files`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", "upload-id": ID },
    body: body.stream,
    signal: client.signal,
  }).catch((error) => error);
  await nextEvent(
    events,
    (e) => e.event === "progress" && JSON.parse(e.data).bytesReceived > 0,
  );
  client.abort();
  const failed = JSON.parse(
    (await nextEvent(events, (e) => e.event === "failed")).data,
  );
  assert.equal(failed.id, ID);
  assert.equal(failed.outcome, "aborted");
  assert.equal(failed.status, 400);
  assert.equal(failed.bytesReceived, chunk.byteLength);
  assert.ok(failed.readerWaitMs > 0);
  assert.ok((await upload) instanceof Error);
  await events.return!(undefined);
  await waitFor(
    "the subscriber is removed",
    () => s.t.app.watchers.count === 0,
  );
  assert.deepEqual(await (await fetch(`${s.origin}/uploads`)).json(), {
    items: [],
  });
});

Deno.test("a subscriber that disconnects is removed at once; the cap refuses more; metrics count them", async () => {
  await using s = await served(["--max-upload-watchers", "2"]);
  const a = await fetch(`${s.origin}/uploads/events`);
  const b = await fetch(`${s.origin}/uploads/events`);
  assert.equal(s.t.app.watchers.count, 2);
  const refused = await fetch(`${s.origin}/uploads/events`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "5");
  await refused.body?.cancel();
  const metrics = await (await fetch(`${s.origin}/metrics`)).text();
  assert.match(metrics, /^upload_watchers 2$/m);
  assert.match(metrics, /^upload_watchers_ended_total\{reason="refused"\} 1$/m);
  // The client goes away: its connection closes, the server notices.
  await a.body!.cancel();
  await b.body!.cancel();
  await waitFor(
    "both subscribers are removed",
    () => s.t.app.watchers.count === 0,
  );
  const after = await (await fetch(`${s.origin}/metrics`)).text();
  assert.match(after, /^upload_watchers 0$/m);
  assert.match(
    after,
    /^upload_watchers_ended_total\{reason="disconnected"\} 2$/m,
  );
  // A place is free again.
  const again = await fetch(`${s.origin}/uploads/events`);
  assert.equal(again.status, 200);
  await again.body!.cancel();
  await waitFor("removed", () => s.t.app.watchers.count === 0);
});

Deno.test("a shutdown ends the event streams once no upload runs, and refuses new ones", async () => {
  await using s = await served();
  const res = await fetch(`${s.origin}/uploads/events`);
  const events = serverSentEvents(res.body!)[Symbol.asyncIterator]();
  s.t.app.beginDrain();
  // The stream ends (the retry line carries no event).
  assert.equal((await events.next()).done, true);
  const refused = await fetch(`${s.origin}/uploads/events`);
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  assert.equal(s.t.app.watchers.count, 0);
});

Deno.test("a subscriber too slow to keep up is dropped; the others and the board go on", async () => {
  const board = new UploadBoard({ intervalMs: 2 });
  const changes: WatcherChange[] = [];
  const watchers = new UploadWatchers({
    board,
    maxQueuedBytes: 4096,
    onChange: (change) => changes.push(change),
  });
  // Never read: its queue fills.
  const slow = watchers.open()!;
  const fast = watchers.open()!;
  const reader = fast.response().body!.getReader();
  let read = 0;
  const reading = (async () => {
    while (!(await reader.read()).done) read++;
  })();
  const live = board.add(ID);
  await waitFor("the slow subscriber is dropped", () => slow.closed);
  assert.deepEqual(changes.slice(0, 3), ["opened", "opened", "slow"]);
  assert.equal(watchers.count, 1);
  assert.equal(fast.closed, false);
  await waitFor("the other one keeps reading", () => read > 10);
  live.end({ kind: "failed", outcome: "aborted", status: 400 });
  watchers.close();
  await reading;
  assert.equal(watchers.count, 0);
  assert.equal(changes.at(-1), "closed");
  assert.equal(watchers.open(), undefined);
  assert.equal(changes.at(-1), "refused");
});

Deno.test("a reading subscriber of many uploads is not dropped, even when they all end at once", async () => {
  const board = new UploadBoard({ intervalMs: 5 });
  const watchers = new UploadWatchers({ board, maxQueuedBytes: 64 * 1024 });
  const stream = watchers.open()!;
  const reader = stream.response().body!.getReader();
  const lives = Array.from(
    { length: 100 },
    (_, i) => board.add(i.toString(16).padStart(32, "0")),
  );
  let progress = 0;
  const decoder = new TextDecoder();
  while (progress < 300) {
    const { value, done } = await reader.read();
    assert.equal(done, false, "the stream went on");
    progress += decoder.decode(value).split("event: progress").length - 1;
  }
  assert.equal(stream.closed, false);
  for (const live of lives) {
    live.end({ kind: "failed", outcome: "aborted", status: 400 });
  }
  assert.equal(stream.closed, false, "100 endings at once fit its queue");
  watchers.close();
  await reader.cancel();
  assert.equal(watchers.count, 0);
});

Deno.test("a quiet stream gets heartbeat comments; the timers stop with the last subscriber", async () => {
  const board = new UploadBoard();
  const watchers = new UploadWatchers({ board, heartbeatMs: 20 });
  const stream = watchers.open()!;
  const events = serverSentEvents(stream.response().body!)[
    Symbol.asyncIterator
  ]();
  const beat = await nextEvent(events, (e) => e.comment !== undefined);
  assert.equal(beat.comment, "heartbeat");
  // The client goes away; no timer is left (the sanitizer checks).
  await events.return!(undefined);
  assert.equal(watchers.count, 0);
});
