/**
 * Tests of `DATA_DIR/files` vanishing while the service runs: uploads and
 * listings keep working (the folder is made again, logged once and
 * counted), and when it cannot be made they get a clear 503.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { scrapeSample } from "./fixtures/exposition.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

async function post(url: string, text: string): Promise<Response> {
  return await fetch(`${url}/files`, { method: "POST", body: text });
}

Deno.test("DATA_DIR/files removed while running: uploads get 201, the folder is made again, logged once", async () => {
  await withTempDir(async (dataDir) => {
    await using served = await serveApp({ dataDir });
    const filesDir = join(dataDir, "files");
    const before = await post(served.url, "before");
    assert.equal(before.status, 201);
    await before.body?.cancel();

    await Deno.remove(filesDir, { recursive: true });
    // Several at once: exactly one of them makes the folder.
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) => post(served.url, `after ${i}`)),
    );
    const created: { id: string }[] = [];
    for (const res of answers) {
      const body = await res.json();
      assert.equal(res.status, 201, JSON.stringify(body));
      created.push(body);
    }
    assert.ok((await Deno.stat(filesDir)).isDirectory);
    assert.deepEqual(
      await listDir(filesDir),
      created.flatMap(({ id }) => [id, `${id}.json`]).sort(),
    );
    const list = await (await fetch(`${served.url}/files`)).json();
    assert.deepEqual(
      list.items.map((item: { id: string }) => item.id).sort(),
      created.map(({ id }) => id).sort(),
    );
    const logged = served.records.filter((r) =>
      r.msg === "files.dir_recreated"
    );
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.level, "warn");
    assert.equal(
      await scrapeSample(served.url, "files_dir_recreated_total"),
      1,
    );
    assert.equal(await scrapeSample(served.url, "files_stored"), 4);
  });
});

Deno.test("DATA_DIR itself removed while running: a listing answers 200 and the folder is back", async () => {
  await withTempDir(async (parent) => {
    const dataDir = join(parent, "data");
    await using served = await serveApp({ dataDir });
    const first = await post(served.url, "gone soon");
    assert.equal(first.status, 201);
    await first.body?.cancel();
    await Deno.remove(dataDir, { recursive: true });

    const res = await fetch(`${served.url}/files`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { items: [] });
    assert.ok((await Deno.stat(join(dataDir, "files"))).isDirectory);
    const again = await post(served.url, "back");
    assert.equal(again.status, 201);
    await again.body?.cancel();
    assert.equal(
      served.records.filter((r) => r.msg === "files.dir_recreated").length,
      1,
    );
  });
});

Deno.test("DATA_DIR/files that cannot be made again gets a 503 problem, not a 500", async () => {
  await withTempDir(async (dataDir) => {
    await using served = await serveApp({ dataDir });
    // Else the start's index build may make the folder again in between.
    await served.indexBuilt();
    const filesDir = join(dataDir, "files");
    // A plain file where the folder was: nothing can be stored there.
    await Deno.remove(filesDir, { recursive: true });
    await Deno.writeTextFile(filesDir, "not a folder");

    for (
      const [res, detail] of [
        [await post(served.url, "x"), /; nothing was kept$/],
        // `curl -T` uploads with PUT, which keeps nothing either.
        [
          await fetch(`${served.url}/files`, { method: "PUT", body: "x" }),
          /; nothing was kept$/,
        ],
        // A list keeps nothing, so its answer does not say so.
        [
          await fetch(`${served.url}/files`),
          /cannot be reached or used for now$/,
        ],
      ] as const
    ) {
      const body = await res.json();
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.match(body.detail, detail);
      assert.equal(
        res.headers.get("content-type"),
        "application/problem+json",
      );
      assert.equal(body.title, "Storage unavailable");
      assert.ok(res.headers.has("retry-after"));
      // No path or OS error reaches the client.
      assert.ok(!JSON.stringify(body).includes(dataDir));
    }
    assert.equal(await Deno.readTextFile(filesDir), "not a folder");
  });
});

Deno.test("DATA_DIR/files not a folder: a stored file's GET, HEAD and DELETE get a 503 problem, not a 500", async () => {
  await withTempDir(async (dataDir) => {
    await using served = await serveApp({ dataDir });
    const stored = await post(served.url, "kept");
    assert.equal(stored.status, 201);
    const { id } = await stored.json() as { id: string };
    const filesDir = join(dataDir, "files");
    await Deno.remove(filesDir, { recursive: true });
    await Deno.writeTextFile(filesDir, "not a folder");

    const url = `${served.url}/files/${id}`;
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(url, { method });
      const body = await res.json();
      assert.equal(res.status, 503, `${method}: ${JSON.stringify(body)}`);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(body.title, "Storage unavailable");
      // Neither a read nor a delete had anything to keep.
      assert.match(body.detail, /cannot be reached or used for now$/);
      assert.ok(res.headers.has("retry-after"), method);
      assert.ok(!JSON.stringify(body).includes(dataDir), method);
    }
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.status, 503);
    assert.ok(head.headers.has("retry-after"));
    assert.equal(await head.text(), "");
    // The log says why, once for the three (more failures of one kind are
    // counted, services/ops/counted_line.ts); each request keeps its
    // access line; no request failed as a 500.
    assert.equal(
      served.records.filter((r) => r.msg === "files.storage_unavailable")
        .length,
      1,
    );
    assert.ok(!served.records.some((r) => r.msg === "request.failed"));
    // The served document says so: a 503 with Retry-After for each of
    // them, and for the listing, which answered it already.
    const doc = await (await fetch(`${served.url}/openapi.json`)).json();
    const refs = doc.components.responses;
    for (
      const [path, method] of [
        ["/files/{id}", "get"],
        ["/files/{id}", "delete"],
        ["/files", "get"],
      ] as const
    ) {
      let response = doc.paths[path][method].responses["503"];
      assert.ok(response, `${method} ${path}: no 503`);
      if (response.$ref) response = refs[response.$ref.split("/").at(-1)];
      assert.ok(response.headers["Retry-After"], `${method} ${path}`);
    }
  });
});

Deno.test("DATA_DIR/files removed during an upload: 503 problem, nothing kept, the next upload 201", async () => {
  await withTempDir(async (dataDir) => {
    await using served = await serveApp({ dataDir });
    const filesDir = join(dataDir, "files");
    const firstChunk = Promise.withResolvers<void>();
    const removed = Promise.withResolvers<void>();
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ === 0) {
          controller.enqueue(new TextEncoder().encode("first half "));
          firstChunk.resolve();
          return;
        }
        await removed.promise;
        controller.enqueue(new TextEncoder().encode("second half"));
        controller.close();
      },
    });
    const pending = fetch(`${served.url}/files`, { method: "POST", body });
    await firstChunk.promise;
    // The .part is open: wait until it exists, then pull the folder away.
    while ((await listDir(filesDir)).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Deno.remove(filesDir, { recursive: true });
    removed.resolve();
    const res = await pending;
    const problem = await res.json();
    assert.equal(res.status, 503, JSON.stringify(problem));
    assert.equal(problem.title, "Storage unavailable");

    const next = await post(served.url, "after");
    assert.equal(next.status, 201);
    const { id } = await next.json();
    assert.deepEqual(await listDir(filesDir), [id, `${id}.json`].sort());
  });
});
