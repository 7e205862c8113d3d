/**
 * Tests of a `DATA_DIR` shared by several processes: the workers of
 * `deno serve --parallel` (each builds its app, and so sweeps the folder,
 * when it starts) or a new process started while the old one still
 * finishes its uploads. The start's sweep of crash leftovers removed every
 * `.part` file, a live upload's of another process too: that upload then
 * failed at its commit with 503 ("folder is missing", a rename of a file
 * gone). A live upload now holds a lock on its `.part` file, which the
 * sweep asks for: held, it is left alone; free (its process is gone), it
 * is a leftover and removed. An upload of an `Upload-Id` whose `.part` is
 * there was 500 (`AlreadyExists`): now 409 when another process's upload of
 * it is live, and a crash's leftover is removed and the upload goes on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serveApp } from "./fixtures/served_app.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

Deno.test("a process starting on a shared DATA_DIR leaves another's live upload alone", () =>
  withTempDir(async (dir) => {
    await using first = await serveApp({ dataDir: dir });
    const { promise: sent, resolve: firstSent } = Promise.withResolvers<
      void
    >();
    const { promise: finish, resolve: letFinish } = Promise.withResolvers<
      void
    >();
    const chunk = new Uint8Array(256 * 1024).fill(3);
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(chunk);
        firstSent();
        await finish;
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const answer = fetch(`${first.url}/files`, {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);
    await sent;
    const files = join(dir, "files");
    for (let i = 0; i < 200; i++) {
      if ((await listDir(files)).some((n) => n.endsWith(".part"))) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [part] = (await listDir(files)).filter((n) => n.endsWith(".part"));
    assert.ok(part, "the upload's .part file exists");
    // A crash's leftovers: nobody holds them.
    const dead = "0".repeat(31) + "1";
    await Deno.writeFile(join(files, `${dead}.part`), new Uint8Array(10));
    await Deno.writeTextFile(join(files, `${"0".repeat(31)}2.json`), "{}");

    // The second process starts (and sweeps) while the upload runs.
    await using second = await serveApp({ dataDir: dir });
    // The upload makes its `.part`, then locks it: a sweep in between
    // removes it as a leftover, and the upload, once it has the lock,
    // makes it again (services/storage/disk_upload.ts). So the listing is
    // read until it settles (a full run at load 8 listed that gap).
    let left = await listDir(files);
    for (let i = 0; i < 200 && String(left) !== String([part]); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      left = await listDir(files);
    }
    letFinish();
    const res = await answer;
    assert.deepEqual(left, [part]);
    assert.equal(res.status, 201, await res.clone().text());
    const stored = await res.json();
    assert.equal(stored.size, 2 * chunk.byteLength);
    const got = await fetch(`${second.url}/files/${stored.id}`);
    assert.equal(got.status, 200);
    assert.equal((await got.bytes()).byteLength, 2 * chunk.byteLength);
  }));

Deno.test("an Upload-Id being uploaded by another process on the shared DATA_DIR is 409, and a crash's leftover .part of it is taken over", () =>
  withTempDir(async (dir) => {
    await using first = await serveApp({ dataDir: dir });
    await using second = await serveApp({ dataDir: dir });
    const files = join(dir, "files");
    const id = "0123456789abcdef0123456789abcdef";
    const { promise: finish, resolve: letFinish } = Promise.withResolvers<
      void
    >();
    const chunk = new Uint8Array(1024).fill(5);
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(chunk);
        await finish;
        controller.close();
      },
    });
    const answer = fetch(`${first.url}/files`, {
      method: "POST",
      headers: { "upload-id": id },
      body,
      duplex: "half",
    } as RequestInit);
    for (let i = 0; i < 200; i++) {
      if ((await listDir(files)).includes(`${id}.part`)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    let taken: Response;
    try {
      // Before: 500, the other process's .part AlreadyExists.
      taken = await fetch(`${second.url}/files`, {
        method: "POST",
        headers: { "upload-id": id },
        body: new Uint8Array(10),
      });
    } finally {
      letFinish();
    }
    assert.equal(taken.status, 409, await taken.text());
    assert.equal(
      taken.headers.get("content-type"),
      "application/problem+json",
    );
    const stored = await answer;
    assert.equal(stored.status, 201, await stored.clone().text());
    await stored.body?.cancel();

    // A process killed mid-upload leaves <id>.part, held by nobody; the
    // processes still running swept at their start, before it.
    const other = "fedcba9876543210fedcba9876543210";
    await Deno.writeFile(join(files, `${other}.part`), new Uint8Array(77));
    // Before: 500 until some process started again.
    const retried = await fetch(`${second.url}/files`, {
      method: "POST",
      headers: { "upload-id": other },
      body: new Uint8Array(10).fill(9),
    });
    assert.equal(retried.status, 201, await retried.clone().text());
    await retried.body?.cancel();
    const got = await fetch(`${first.url}/files/${other}`);
    assert.deepEqual(await got.bytes(), new Uint8Array(10).fill(9));
    assert.deepEqual(
      await listDir(files),
      [id, `${id}.json`, other, `${other}.json`].sort(),
    );
  }));
