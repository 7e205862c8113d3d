/**
 * Tests of `GET /uploads/events?id=` when the upload runs in another
 * process sharing the storage: another worker of `deno serve --parallel`
 * (one `DATA_DIR`), or another instance behind a load balancer (one
 * bucket). The kernel spreads `--parallel`'s connections over its
 * workers, and nginx spreads requests round robin, so the upload page's
 * event stream and its upload often reach different processes. The
 * stream learns the ending from the shared storage and ends with `done`
 * instead of waiting for ever (the page waited on it, "Uploading…" for
 * good, in ~3 of 10 uploads against `deno serve --parallel` with 2
 * workers). Here two apps share one `DATA_DIR`, as `--parallel`'s
 * workers do.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { OpenApiDocument } from "../routes/openapi.ts";
import { eventDataErrors } from "./fixtures/openapi_checks.ts";
import { nextEvent } from "./fixtures/sse.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { newId, subscribe } from "./fixtures/upload_events.ts";

Deno.test("a stream of an upload stored by another process sharing the storage ends with done", () =>
  withTempDir(async (dir) => {
    await using uploader = await serveApp({ dataDir: dir });
    await using watcher = await serveApp({ dataDir: dir });
    const id = newId();
    const events = await subscribe(watcher.url, id, 5_000);
    const body = crypto.getRandomValues(new Uint8Array(64 * 1024));
    const res = await fetch(`${uploader.url}/files`, {
      method: "POST",
      headers: { "upload-id": id },
      body,
    });
    assert.equal(res.status, 201);
    const stored = await res.json();
    const done = await nextEvent(events, (e) => e.event !== "");
    assert.equal(done.event, "done");
    const data = JSON.parse(done.data);
    assert.equal(data.id, id);
    assert.equal(data.size, body.byteLength);
    assert.equal(data.sha256, stored.sha256);
    // The served document admits it: a client generated from it (a
    // validating one, @hey-api/openapi-ts with zod) rejected this done.
    const doc: OpenApiDocument = await (await fetch(
      `${watcher.url}/openapi.json`,
    )).json();
    assert.deepEqual(eventDataErrors(doc, data), []);
    // The stream ends after the ending, as for an upload of its own.
    assert.equal((await events.next()).done, true);
    assert.equal(watcher.app.watchers.count, 0);
  }));

Deno.test("a stream of an upload already stored ends with done at once", () =>
  withTempDir(async (dir) => {
    await using one = await serveApp({ dataDir: dir });
    const id = newId();
    const res = await fetch(`${one.url}/files`, {
      method: "POST",
      headers: { "upload-id": id },
      body: new Uint8Array(1000).fill(7),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    // Counts the storage's answers to "is it stored?", to tell the done
    // decided at the subscription from one a later poll of it found.
    const { files } = one.app;
    const stat = files.stat.bind(files);
    let asked = 0;
    files.stat = (name) => {
      asked++;
      return stat(name);
    };
    const events = await subscribe(one.url, id, 5_000);
    const askedBySubscribing = asked;
    const done = await nextEvent(events, (e) => e.event !== "");
    assert.equal(done.event, "done");
    assert.equal(JSON.parse(done.data).size, 1000);
    // At once: no poll asked the storage between the answer and its done.
    assert.equal(asked, askedBySubscribing, "the done waited for a poll");
    assert.equal((await events.next()).done, true);
  }));

Deno.test("a stream of an id nobody uploads stays open; no poll outlives it", () =>
  withTempDir(async (dir) => {
    await using one = await serveApp({ dataDir: dir });
    const events = await subscribe(one.url, newId(), 1_500);
    // Only the retry line, then the client's own timeout ends the stream.
    await assert.rejects(nextEvent(events, (e) => e.event !== ""));
    for (let i = 0; i < 100 && one.app.watchers.count > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(one.app.watchers.count, 0);
  }));
