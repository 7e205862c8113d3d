/**
 * Tests of the on-disk store of uploads.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createLocalDiskStorage,
  LocalDiskStorage,
} from "../services/storage/local_disk.ts";
import { type FileMetadata, newId } from "../services/storage/metadata.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { listDir, withTempDir as withDir } from "./fixtures/temp_dir.ts";

/** Writes a committed file the way a committed upload leaves it. */
async function putFile(
  dir: string,
  created: string,
  content = "x",
  id = newId(),
): Promise<FileMetadata> {
  const data = new TextEncoder().encode(content);
  const meta = { id, size: data.byteLength, sha256: "0".repeat(64), created };
  await Deno.writeTextFile(join(dir, `${id}.json`), JSON.stringify(meta));
  await Deno.writeFile(join(dir, id), data);
  return meta;
}

Deno.test("createLocalDiskStorage makes the folder", async () => {
  await withDir(async (dir) => {
    const nested = join(dir, "a", "files");
    const store = await createLocalDiskStorage({ dir: nested });
    assert.equal(store.dir, nested);
    assert.ok((await Deno.stat(nested)).isDirectory);
    assert.throws(() => new LocalDiskStorage({ dir: "" }), TypeError);
  });
});

Deno.test("LocalDiskStorage.sweep removes crash leftovers only", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const kept = await putFile(dir, "2024-01-01T00:00:00.000Z");
    const a = newId();
    const b = newId();
    const orphan = newId();
    await Deno.writeTextFile(join(dir, `${a}.part`), "partial");
    await Deno.writeTextFile(join(dir, `${b}.json.part`), "{");
    await Deno.writeTextFile(join(dir, `${orphan}.json`), "{}");
    await Deno.writeTextFile(join(dir, "notes.part"), "not ours");

    assert.equal(await store.sweep(), 3);
    assert.deepEqual(
      await listDir(dir),
      [kept.id, `${kept.id}.json`, "notes.part"].sort(),
    );
    assert.equal(await store.sweep(), 0);
  });
});

Deno.test("LocalDiskStorage.stat reads the sidecar of committed files only", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const meta = await putFile(dir, "2024-01-01T00:00:00.000Z", "hello");
    assert.deepEqual(await store.stat(meta.id), meta);

    assert.equal(await store.stat(newId()), undefined);
    const orphan = newId();
    await Deno.writeTextFile(
      join(dir, `${orphan}.json`),
      JSON.stringify({ ...meta, id: orphan }),
    );
    assert.equal(await store.stat(orphan), undefined);

    const corrupt = await putFile(dir, "2024-01-01T00:00:00.000Z");
    await Deno.writeTextFile(join(dir, `${corrupt.id}.json`), "{not json");
    assert.equal(await store.stat(corrupt.id), undefined);
  });
});

Deno.test("LocalDiskStorage.stat agrees with receiveUpload", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const body = ReadableStream.from([new TextEncoder().encode("payload")]);
    const result = await receiveUpload(body, {
      begin: () => store.begin(),
      maxBytes: 100,
    });
    assert.deepEqual(await store.stat(result.id), {
      id: result.id,
      size: result.size,
      sha256: result.sha256,
      created: result.created,
    });
    const stream = await store.read(result.id);
    assert.ok(stream);
    assert.equal(await new Response(stream).text(), "payload");
    const range = await store.read(result.id, { start: 2, end: 4 });
    assert.ok(range);
    assert.equal(await new Response(range).text(), "ylo");
  });
});

Deno.test("LocalDiskStorage.list pages by created, then id", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const files = [
      await putFile(dir, "2024-01-03T00:00:00.000Z"),
      await putFile(dir, "2024-01-01T00:00:00.000Z"),
      await putFile(dir, "2024-01-02T00:00:00.000Z", "x", "f".repeat(32)),
      await putFile(dir, "2024-01-02T00:00:00.000Z", "x", "0".repeat(32)),
      await putFile(dir, "2024-01-04T00:00:00.000Z"),
    ];
    // Not committed: must not be listed.
    await Deno.writeTextFile(join(dir, `${newId()}.json`), "{}");
    await Deno.writeTextFile(join(dir, `${newId()}.part`), "");

    const expected = [files[1], files[3], files[2], files[0], files[4]];
    const seen: FileMetadata[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page: Awaited<ReturnType<LocalDiskStorage["list"]>> = await store
        .list(
          cursor === undefined ? { limit: 2 } : { limit: 2, cursor },
        );
      seen.push(...page.items);
      sizes.push(page.items.length);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, expected);

    const whole = await store.list();
    assert.deepEqual(whole.items, expected);
    assert.equal(whole.nextCursor, undefined);
    assert.deepEqual((await store.list({ limit: 5 })).nextCursor, undefined);
  });
});

Deno.test("LocalDiskStorage.list validates limit and cursor", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    for (const limit of [0, -1, 1.5, 1001, NaN]) {
      await assert.rejects(store.list({ limit }), RangeError);
    }
    for (const cursor of ["", "garbage", btoa("[1,2]"), btoa('["x","../"]')]) {
      await assert.rejects(store.list({ cursor }), RangeError);
    }
    assert.deepEqual(await store.list(), { items: [] });
  });
});

Deno.test("LocalDiskStorage.delete deletes content and sidecar", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const meta = await putFile(dir, "2024-01-01T00:00:00.000Z");
    assert.equal(await store.delete(meta.id), true);
    assert.deepEqual(await listDir(dir), []);
    assert.equal(await store.delete(meta.id), false);
    assert.equal(await store.read(meta.id), undefined);
  });
});

Deno.test("LocalDiskStorage rejects invalid ids without touching the disk", async () => {
  await withDir(async (dir) => {
    const inner = join(dir, "files");
    const store = await createLocalDiskStorage({ dir: inner });
    // A file a path-like id would reach if ids were not checked.
    await Deno.writeTextFile(join(dir, "victim"), "keep me");
    await Deno.writeTextFile(join(dir, "victim.json"), "{}");
    for (
      const id of [
        "../victim",
        "victim",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef.json",
        "",
      ]
    ) {
      assert.equal(await store.stat(id), undefined);
      assert.equal(await store.read(id), undefined);
      assert.equal(await store.delete(id), false);
    }
    assert.equal(await Deno.readTextFile(join(dir, "victim")), "keep me");
  });
});

Deno.test("LocalDiskStorage.freeBytes reports the free space", async () => {
  await withDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const free = await store.freeBytes();
    assert.equal(typeof free, "number");
    assert.ok(free! > 0);
  });
});
