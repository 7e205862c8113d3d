/**
 * A `GET /files/:id` from the local disk looks at the file once: it opens
 * `<id>` and decides from the one `fstat` of the file opened. Before, it
 * took a `stat` of the path (the version check) and then an `fstat` of the
 * file it opened (that it was still that version): two async stats per
 * download, the top self-time items on small files (~27 + ~15 us of
 * main-thread CPU each). The one look keeps the guarantee: the headers
 * describe the very content streamed, even when the file is replaced
 * after the open.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import { putWithId } from "./fixtures/files_service.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { storeFile } from "./fixtures/stored_file.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import { newId } from "./fixtures/upload_events.ts";

/**
 * Counts the looks at file `id` (path `stat`s and `fstat`s of any file
 * opened) while `work` runs; the calls go to the real functions.
 */
async function looksDuring(
  id: string,
  work: () => Promise<void>,
): Promise<{ paths: number; opened: number }> {
  const looks = { paths: 0, opened: 0 };
  const stat = Deno.stat;
  const fstat = Deno.FsFile.prototype.stat;
  Deno.stat = (path) => {
    if (String(path).endsWith(id)) looks.paths++;
    return stat(path);
  };
  Deno.FsFile.prototype.stat = function (this: Deno.FsFile) {
    looks.opened++;
    return fstat.call(this);
  };
  try {
    await work();
  } finally {
    Deno.stat = stat;
    Deno.FsFile.prototype.stat = fstat;
  }
  return looks;
}

Deno.test("GET /files/:id from the local disk: one fstat of the file opened, no stat of its path", () =>
  withTempDir(async (dir) => {
    await using app = await serveApp({ dataDir: dir });
    const id = newId();
    const body = new Uint8Array(4096).fill(7);
    await putWithId(app.url, id, body);
    const warm = await fetch(`${app.url}/files/${id}`);
    await warm.bytes();
    let etag: string | null = null;
    let got = new Uint8Array();
    const looks = await looksDuring(id, async () => {
      const res = await fetch(`${app.url}/files/${id}`);
      etag = res.headers.get("etag");
      got = await res.bytes();
    });
    assert.deepEqual(got, body);
    assert.equal(etag, `"${sha256Hex(body)}"`);
    // Before: { paths: 1, opened: 1 }.
    assert.deepEqual(looks, { paths: 0, opened: 1 });
  }));

Deno.test("LocalDiskStorage.open: the metadata of the content opened, streamed as it is even once replaced", () =>
  withTempDir(async (dir) => {
    const a = await createLocalDiskStorage({ dir });
    const b = await createLocalDiskStorage({ dir });
    const id = newId();
    const old = await storeFile(b, id, "old");
    const opened = await a.open(id);
    assert.ok(opened);
    assert.deepEqual(opened.meta, old);
    assert.equal(await b.delete(id), true);
    const fresh = await storeFile(b, id, "new and longer");
    assert.equal(await new Response(await opened.read()).text(), "old");
    // Opened after the replace: the new version, a range of it.
    const again = await a.open(id);
    assert.ok(again);
    assert.deepEqual(again.meta, fresh);
    const range = await again.read({ start: 4, end: 6 });
    assert.equal(await new Response(range).text(), "and");
    assert.equal(await b.delete(id), true);
    assert.equal(await a.open(id), undefined);
    assert.equal(await a.open("../etc"), undefined);
  }));
