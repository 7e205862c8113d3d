/**
 * A file deleted and uploaded again under the same id (a client's
 * `Upload-Id`) by another process sharing `DATA_DIR` (the workers of
 * `deno serve --parallel`, or two instances) is served as the new version
 * by every process. Before, a process whose listing index knew the old
 * version answered `GET`/`HEAD /files/:id` with the old `ETag`, size and
 * `Content-Length` (its `stat` trusted the index): the new bytes went out
 * under the old validator and length (cut short or left hanging), a
 * conditional request or a range acted on the old version, and `GET /files`
 * listed the old metadata (until the process served the file, even after
 * the fix of the downloads: the listing now checks its page).
 *
 * Needs curl and aria2c (Debian: curl, aria2); CI installs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import type { FileMetadata } from "../services/storage/metadata.ts";
import {
  putWithId,
  randomBytes,
  sendDiscarding,
} from "./fixtures/files_service.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { storeFile } from "./fixtures/stored_file.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";
import { hashFile, sha256Hex } from "./fixtures/upload_client.ts";
import { newId } from "./fixtures/upload_events.ts";

/** `a` knows `id` as it is now: listed (its index) and downloaded. */
async function knowIt(origin: string, id: string): Promise<void> {
  const listed = await (await fetch(`${origin}/files`)).json();
  assert.ok(listed.items.some((m: { id: string }) => m.id === id));
  const res = await fetch(`${origin}/files/${id}`);
  assert.equal(res.status, 200);
  await res.bytes();
}

/** Another process deletes `id` and stores `body` under it. */
async function replace(
  origin: string,
  id: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<string> {
  assert.equal(
    (await sendDiscarding(`${origin}/files/${id}`, { method: "DELETE" }))
      .status,
    204,
  );
  return await putWithId(origin, id, body);
}

Deno.test("a file replaced by another process (another size): GET, HEAD, conditionals, ranges and the listing give the new version", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    const id = newId();
    const old = await putWithId(a.url, id, randomBytes(1000));
    await knowIt(a.url, id);
    const fresh = randomBytes(300_000);
    const tag = await replace(b.url, id, fresh);
    assert.notEqual(tag, old);
    const url = `${a.url}/files/${id}`;

    const head = await sendDiscarding(url, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("etag"), tag);
    assert.equal(head.headers.get("content-length"), String(fresh.length));
    const got = await fetch(url);
    assert.equal(got.headers.get("etag"), tag);
    assert.equal(got.headers.get("content-length"), String(fresh.length));
    assert.deepEqual(await got.bytes(), fresh);

    // Validators name the new version only.
    assert.equal(
      (await sendDiscarding(url, { headers: { "if-none-match": old } })).status,
      200,
    );
    assert.equal(
      (await sendDiscarding(url, { headers: { "if-none-match": tag } })).status,
      304,
    );
    assert.equal(
      (await sendDiscarding(url, { headers: { "if-match": old } })).status,
      412,
    );
    // A range past the old version's end is in the new one.
    const ranged = await fetch(url, {
      headers: { range: "bytes=200000-200999", "if-range": tag },
    });
    assert.equal(ranged.status, 206);
    assert.equal(
      ranged.headers.get("content-range"),
      `bytes 200000-200999/${fresh.length}`,
    );
    assert.deepEqual(await ranged.bytes(), fresh.subarray(200000, 201000));

    // The listing shows the new version too.
    const listed = await (await fetch(`${a.url}/files`)).json();
    const item = listed.items.find((m: { id: string }) => m.id === id);
    assert.equal(item?.size, fresh.length);
    assert.equal(`"${item?.sha256}"`, tag);

    await withTempDir(async (out) => {
      const curl = await runTool("curl", [
        "-sS",
        "-f",
        "-r",
        "1000-299999",
        "-o",
        join(out, "curl.bin"),
        url,
      ], { install: "apt-get install -y curl" });
      assert.equal(curl.code, 0, curl.stderr);
      assert.deepEqual(
        await Deno.readFile(join(out, "curl.bin")),
        fresh.subarray(1000),
      );
      const aria = await runTool("aria2c", [
        "-q",
        "-x4",
        "-s4",
        "-k1M",
        "--min-split-size=1M",
        "-d",
        out,
        "-o",
        "aria.bin",
        url,
      ], { install: "apt-get install -y aria2" });
      assert.equal(aria.code, 0, aria.stdout + aria.stderr);
      assert.equal(
        (await hashFile(join(out, "aria.bin"))).sha256,
        sha256Hex(fresh),
      );
    });
  }));

Deno.test("a file replaced by another process with as many bytes: the new ETag and bytes", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    const id = newId();
    const old = await putWithId(a.url, id, new Uint8Array(5000).fill(1));
    await knowIt(a.url, id);
    const tag = await replace(b.url, id, new Uint8Array(5000).fill(2));
    assert.notEqual(tag, old);
    const url = `${a.url}/files/${id}`;
    assert.equal(
      (await sendDiscarding(url, { method: "HEAD" })).headers.get("etag"),
      tag,
    );
    const got = await fetch(url);
    assert.equal(got.headers.get("etag"), tag);
    assert.deepEqual(await got.bytes(), new Uint8Array(5000).fill(2));
    assert.equal(
      (await sendDiscarding(url, { headers: { "if-none-match": old } })).status,
      200,
    );
    const listed = await (await fetch(`${a.url}/files`)).json();
    assert.equal(`"${listed.items[0].sha256}"`, tag);
  }));

Deno.test("a file replaced by another process is listed as the new version by a process that only listed it", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    const id = newId();
    await putWithId(a.url, id, new Uint8Array(100).fill(1));
    const other = await putWithId(a.url, newId(), new Uint8Array(10));
    const list = async () =>
      (await (await fetch(`${a.url}/files`)).json()).items;
    assert.equal((await list())[0].id, id);
    const fresh = new Uint8Array(100).fill(2);
    const tag = await replace(b.url, id, fresh);
    // The new version is the newest: listed last, with its own metadata.
    const items = await list();
    assert.deepEqual(
      items.map((m: FileMetadata) => `"${m.sha256}"`),
      [other, tag],
    );
    assert.equal(items[1].id, id);
    assert.equal(items[1].size, fresh.length);
  }));

Deno.test("a file deleted by another process: 404 and gone from the listing", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    const id = newId();
    await putWithId(a.url, id, new Uint8Array(100).fill(1));
    await knowIt(a.url, id);
    assert.equal(
      (await sendDiscarding(`${b.url}/files/${id}`, { method: "DELETE" }))
        .status,
      204,
    );
    assert.equal((await sendDiscarding(`${a.url}/files/${id}`)).status, 404);
    assert.equal(
      (await sendDiscarding(`${a.url}/files/${id}`, { method: "HEAD" })).status,
      404,
    );
    const listed = await (await fetch(`${a.url}/files`)).json();
    assert.deepEqual(listed.items, []);
  }));

Deno.test("LocalDiskStorage.read of a version gives nothing once the file is another (replaced between stat and open)", () =>
  withTempDir(async (dir) => {
    const a = await createLocalDiskStorage({ dir });
    const b = await createLocalDiskStorage({ dir });
    const id = newId();
    await storeFile(b, id, "old");
    const seen = await a.stat(id);
    assert.ok(seen);
    assert.equal(await b.delete(id), true);
    const fresh = await storeFile(b, id, "new and longer");
    assert.equal(await a.read(id, undefined, seen), undefined);
    assert.equal(await a.read(id, { start: 0, end: 1 }, seen), undefined);
    const stream = await a.read(id, { start: 4, end: 6 }, fresh);
    assert.ok(stream);
    assert.equal(await new Response(stream).text(), "and");
    assert.deepEqual(await a.stat(id), fresh);
  }));
