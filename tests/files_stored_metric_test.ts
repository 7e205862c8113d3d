/**
 * `files_stored` follows the uploads and deletes without a listing: it was
 * the listing index's size, and the index caught up with the folder only
 * when `GET /files` was asked, so a deployment that never lists kept the
 * count it started with (seen after `curl -T` uploads: 12 while 16 were
 * stored, 16 once a listing ran). A file another process stores in the
 * same folder is counted too. A scrape waits for that only so long: the
 * re-read of a big folder (2.4-5.5 s at 100k files) would outlast
 * Prometheus's scrape timeout.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Registry } from "prom-client";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import { storageMetrics } from "../services/storage/metrics.ts";
import { writeCommittedFiles } from "./fixtures/many_files.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

async function filesStored(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("files_stored "));
  assert.ok(line, "files_stored is exported");
  return Number(line.split(" ")[1]);
}

async function upload(url: string, text: string): Promise<string> {
  const res = await fetch(`${url}/files`, { method: "PUT", body: text });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.id;
}

Deno.test("files_stored counts uploads and deletes with no listing in between", async () => {
  await withTempDir(async (dataDir) => {
    await using served = await serveApp({ dataDir });
    assert.equal(await filesStored(served.url), 0);
    const ids = [];
    for (const text of ["one", "two", "three"]) {
      ids.push(await upload(served.url, text));
    }
    assert.equal(await filesStored(served.url), 3);
    const removed = await fetch(`${served.url}/files/${ids[0]}`, {
      method: "DELETE",
    });
    assert.equal(removed.status, 204);
    assert.equal(await filesStored(served.url), 2);

    // Another process sharing the folder (a second instance, a worker).
    await using other = await serveApp({ dataDir });
    await upload(other.url, "elsewhere");
    assert.equal(await filesStored(served.url), 3);
  });
});

Deno.test("A scrape does not wait for the re-read of a folder: files_stored keeps the last count meanwhile", async () => {
  await withTempDir(async (dataDir) => {
    const dir = join(dataDir, "files");
    const files = await createLocalDiskStorage({ dir });
    writeCommittedFiles(dir, 2000);
    await files.refresh();
    const registry = new Registry();
    // 0: the scrape takes whatever count the index has by its next turn.
    storageMetrics(registry, () => files.stats(), {
      synced: () => files.syncedStats(),
      syncWaitMs: 0,
    });
    const { refreshes } = files.stats();

    writeCommittedFiles(dir, 1); // the folder changed: a re-read is due
    const text = await registry.metrics();
    assert.match(text, /^files_stored 2000$/m);
    // Answered while the re-read it started still runs (before, after it).
    assert.equal(files.stats().refreshes, refreshes);
    await files.refresh();
    assert.equal(files.stats().files, 2001);
  });
});
