/**
 * One client cannot hold every place of `GET /uploads/events`
 * (`MAX_UPLOAD_WATCHERS_PER_CLIENT`, 429 with `Retry-After`). On main, 64
 * `curl -N http://127.0.0.1:8000/uploads/events` from one address took all
 * `MAX_UPLOAD_WATCHERS` places for as long as they stayed open (a quiet
 * stream only gets a heartbeat every 15 s, and nothing ends it), and every
 * upload page of every other client got 503 for its live progress.
 *
 * @module
 */

import assert from "node:assert/strict";
import { UploadBoard } from "../services/uploads/board.ts";
import { UploadWatchers } from "../services/uploads/watchers.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("UploadWatchers: a client past maxPerClient is refused, others are not, a place freed is reused", () => {
  const changes: string[] = [];
  const watchers = new UploadWatchers({
    board: new UploadBoard(),
    maxWatchers: 4,
    maxPerClient: 2,
    onChange: (change) => changes.push(change),
  });
  const a1 = watchers.open(undefined, { client: "10.0.0.1" });
  const a2 = watchers.open(undefined, { client: "10.0.0.1" });
  assert.ok(a1 && a2);
  assert.equal(watchers.fullFor("10.0.0.1"), true);
  assert.equal(watchers.open(undefined, { client: "10.0.0.1" }), undefined);
  assert.equal(watchers.fullFor("10.0.0.2"), false);
  const b1 = watchers.open(undefined, { client: "10.0.0.2" });
  assert.ok(b1);
  a1.close();
  assert.equal(watchers.fullFor("10.0.0.1"), false);
  const a3 = watchers.open(undefined, { client: "10.0.0.1" });
  assert.ok(a3);
  // No client known (a unix socket): only the overall cap applies.
  assert.ok(watchers.open());
  assert.equal(watchers.count, 4);
  assert.equal(watchers.open(undefined, { client: "10.0.0.3" }), undefined);
  assert.deepEqual(changes.filter((c) => c === "refused").length, 2);
  watchers.close();
  assert.equal(watchers.count, 0);
});

Deno.test("UploadWatchers: maxPerClient 0 is no cap; a bad value is a RangeError", () => {
  const board = new UploadBoard();
  const watchers = new UploadWatchers({ board, maxPerClient: 0 });
  for (let i = 0; i < 10; i++) {
    assert.ok(watchers.open(undefined, { client: "10.0.0.1" }));
  }
  watchers.close();
  assert.throws(
    () => new UploadWatchers({ board, maxPerClient: -1 }),
    RangeError,
  );
});

Deno.test("GET /uploads/events: the 9th stream from one address is 429 with Retry-After; closing one makes room", async () => {
  await using served = await serveApp({});
  const url = `${served.url}/uploads/events`;
  const open: Response[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      const res = await fetch(url);
      assert.equal(res.status, 200);
      open.push(res);
    }
    const refused = await fetch(url);
    if (refused.status !== 429) {
      // A stream of its own: read nothing from it.
      await refused.body?.cancel();
      assert.fail(`the 9th stream got ${refused.status}, not 429`);
    }
    const body = await refused.json();
    assert.equal(
      refused.headers.get("content-type"),
      "application/problem+json",
    );
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    assert.equal(body.status, 429);
    await open.pop()!.body!.cancel();
    // The place is given back once the runtime reports the stream gone.
    let again: Response | undefined;
    for (let i = 0; i < 100 && again === undefined; i++) {
      const res = await fetch(url);
      if (res.status === 200) again = res;
      else {
        await res.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    assert.ok(again, "no place after one stream closed");
    open.push(again);
  } finally {
    for (const res of open) await res.body?.cancel();
  }
});
