/**
 * Tests of a `DATA_DIR` shared by several processes: the workers of
 * `deno serve --parallel` (each builds its app, and so sweeps the folder,
 * when it starts) or a new process started while the old one still
 * finishes its uploads. The start's sweep of crash leftovers removed every
 * `.part` file, a live upload's of another process too: that upload then
 * failed at its commit with 503 ("folder is missing", a rename of a file
 * gone). A live upload now holds a lock on its `.part` file, which the
 * sweep asks for: held, it is left alone; free (its process is gone), it
 * is a leftover and removed.
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
    const left = await listDir(files);
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
