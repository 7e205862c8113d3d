/**
 * Tests of the in-memory index behind `GET /files`: a page costs the page,
 * not a read of every sidecar; pages stay correct while files come and go;
 * files written by another instance or process on the same `DATA_DIR`
 * show up.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { compareFiles, FileIndex } from "../services/storage/file_index.ts";
import type { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { type FileMetadata, newId } from "../services/storage/metadata.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startLoadBalancer } from "./fixtures/nginx_balancer.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";

interface Page {
  items: FileMetadata[];
  nextCursor?: string;
}

const meta = (created: string, id = newId()): FileMetadata => ({
  id,
  size: 1,
  sha256: "0".repeat(64),
  created,
});

/** Every page of `GET /files?limit=<limit>`, in order. */
async function listAll(url: string, limit: number): Promise<FileMetadata[]> {
  const items: FileMetadata[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== undefined) query.set("cursor", cursor);
    const res = await fetch(`${url}/files?${query}`);
    assert.equal(res.status, 200);
    const page = await res.json() as Page;
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return items;
}

async function upload(url: string, text: string): Promise<FileMetadata> {
  const res = await fetch(`${url}/files`, { method: "POST", body: text });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body as FileMetadata;
}

async function remove(url: string, id: string): Promise<void> {
  const res = await fetch(`${url}/files/${id}`, { method: "DELETE" });
  await res.body?.cancel();
  assert.equal(res.status, 204);
}

const ids = (items: FileMetadata[]) => items.map((item) => item.id);

Deno.test("FileIndex keeps created-then-id order through adds, deletes and bulk adds", () => {
  const index = new FileIndex();
  const a = meta("2024-01-02T00:00:00.000Z", "a".repeat(32));
  const b = meta("2024-01-01T00:00:00.000Z", "b".repeat(32));
  const c = meta("2024-01-02T00:00:00.000Z", "0".repeat(32));
  const d = meta("2024-01-03T00:00:00.000Z");
  for (const m of [a, b, c, d]) index.add(m);
  assert.deepEqual(ids(index.page({ limit: 10 }).items), [
    b.id,
    c.id,
    a.id,
    d.id,
  ]);
  // After a position that is no longer there (a deleted cursor item).
  assert.equal(index.delete(c.id), true);
  assert.equal(index.delete(c.id), false);
  const rest = index.page({ limit: 1, after: c });
  assert.deepEqual(ids(rest.items), [a.id]);
  assert.equal(rest.more, true);
  assert.deepEqual(index.page({ limit: 1, after: a }), {
    items: [d],
    more: false,
  });
  assert.throws(() => index.page({ limit: 0 }), RangeError);

  // A bulk add (one sort) gives the same order as one add at a time.
  const many = Array.from(
    { length: 500 },
    (_, i) => meta(`2024-02-0${i % 9 + 1}T00:00:00.000Z`),
  );
  const bulk = new FileIndex();
  bulk.addAll([...many, a, b].map((meta) => ({ meta })));
  bulk.addAll([{ meta: a }]); // replacing keeps one copy
  const single = new FileIndex();
  for (const m of [b, ...many.toReversed(), a]) single.add(m);
  const all = bulk.page({ limit: 1000 }).items;
  assert.equal(bulk.size, 502);
  assert.deepEqual(ids(all), ids(single.page({ limit: 1000 }).items));
  for (let i = 1; i < all.length; i++) {
    assert.ok(compareFiles(all[i - 1]!, all[i]!) < 0);
  }
  index.clear();
  assert.equal(index.size, 0);
});

Deno.test("FileIndex keeps a frozen entry as it is, and a frozen copy of one that is not", () => {
  // A build's 300k entries come frozen from their reading: a copy of each,
  // made once all were read, was a burst of allocation on the build's
  // largest heap (bench/PROFILE.md, "One read of the folder at start").
  const frozen = Array.from({ length: 30 }, (_, i) =>
    Object.freeze({
      meta: Object.freeze(meta(`2024-01-01T00:00:${10 + i}.000Z`)),
    }));
  const loose = { meta: meta("2024-01-02T00:00:00.000Z") };
  const index = new FileIndex();
  index.addAll([...frozen.slice(0, 20), loose]);
  index.addSorted(frozen.slice(20));
  for (const entry of frozen) {
    assert.equal(index.entry(entry.meta.id), entry);
  }
  const kept = index.get(loose.meta.id)!;
  assert.notEqual(kept, loose.meta);
  assert.ok(Object.isFrozen(kept));
  loose.meta.size = 9; // the caller's object changes, not the index's
  assert.equal(index.get(loose.meta.id)?.size, 1);
  assert.equal(index.size, 31);
  const one = frozen[0]!.meta;
  index.add(one);
  assert.equal(index.get(one.id), one, "one add keeps a frozen one too");
});

Deno.test("GET /files over 5000 files reads no sidecar per page", async () => {
  await withTempDir(async (dataDir) => {
    const filesDir = join(dataDir, "files");
    await Deno.mkdir(filesDir);
    // 5000 committed files as receiveUpload leaves them; times repeat so
    // the id tie-break matters.
    const files: FileMetadata[] = [];
    for (let i = 0; i < 5000; i++) {
      const m = meta(
        new Date(Date.UTC(2024, 0, 1, 0, 0, i % 1000)).toISOString(),
      );
      files.push(m);
    }
    for (let i = 0; i < files.length; i += 100) {
      await Promise.all(
        files.slice(i, i + 100).map(async (m) => {
          await Deno.writeTextFile(
            join(filesDir, `${m.id}.json`),
            JSON.stringify(m) + "\n",
          );
          await Deno.writeFile(join(filesDir, m.id), new Uint8Array([1]));
        }),
      );
    }
    files.sort(compareFiles);

    await using served = await serveApp({ dataDir });
    // Built after the start, in the background: each sidecar read once.
    await until(async () => {
      const res = await fetch(`${served.url}/readyz`);
      await res.body?.cancel();
      return res.status === 200;
    }, "the index built (/readyz 200)");
    assert.deepEqual(
      (served.app.files as LocalDiskStorage).stats().sidecarReads,
      5000,
    );

    // Overwrite every sidecar in place (the folder's entries, hence its
    // mtime, stay the same): a list that re-reads sidecars finds no file.
    for (let i = 0; i < files.length; i += 100) {
      await Promise.all(
        files.slice(i, i + 100).map((m) =>
          Deno.writeTextFile(join(filesDir, `${m.id}.json`), "{}")
        ),
      );
    }
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${served.url}/files?limit=10`);
      const page = await res.json() as Page;
      assert.deepEqual(page.items, files.slice(0, 10));
    }
    const listed = await listAll(served.url, 1000);
    assert.deepEqual(listed, files);
    assert.equal(
      (served.app.files as LocalDiskStorage).stats().sidecarReads,
      5000,
    );
  });
});

Deno.test("GET /files pages stay correct while another instance adds and deletes files", async () => {
  await withTempDir(async (dataDir) => {
    // Two instances on one DATA_DIR, like `deno serve --parallel` workers:
    // a lists, b changes the files.
    await using a = await serveApp({ dataDir });
    await using b = await serveApp({ dataDir });
    const initial: FileMetadata[] = [];
    for (let i = 0; i < 30; i++) initial.push(await upload(a.url, `f${i}`));
    initial.sort(compareFiles);

    const seen: FileMetadata[] = [];
    const deleted = new Set<string>();
    const deletedUnseen = new Set<string>();
    const added: FileMetadata[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ limit: "6" });
      if (cursor !== undefined) query.set("cursor", cursor);
      const page = await (await fetch(`${a.url}/files?${query}`))
        .json() as Page;
      for (const m of page.items) {
        assert.ok(!deletedUnseen.has(m.id), `${m.id} listed after deletion`);
      }
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
      // Between pages: b deletes one file not yet seen and one already
      // seen, and adds one (later than every file: listed at the end).
      const unseen = initial.find((m) =>
        !deleted.has(m.id) && !seen.some((s) => s.id === m.id)
      );
      const old = seen.find((m) => !deleted.has(m.id));
      if (unseen && pages <= 3) {
        await remove(b.url, unseen.id);
        deleted.add(unseen.id);
        deletedUnseen.add(unseen.id);
      }
      if (old && pages <= 3) {
        await remove(b.url, old.id);
        deleted.add(old.id);
      }
      if (pages <= 3) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        added.push(await upload(b.url, `new ${pages}`));
      }
    } while (cursor !== undefined && pages < 20);

    // No file twice, every file that stayed, and the added ones.
    assert.equal(new Set(ids(seen)).size, seen.length);
    const survivors = initial.filter((m) => !deleted.has(m.id));
    for (const m of [...survivors, ...added]) {
      assert.ok(seen.some((s) => s.id === m.id), `missing ${m.id}`);
    }
    assert.equal(deletedUnseen.size, 3);
    // In the end both instances list exactly what is on disk.
    const expected = [...survivors, ...added].sort(compareFiles);
    assert.deepEqual(ids(await listAll(a.url, 7)), ids(expected));
    assert.deepEqual(ids(await listAll(b.url, 1000)), ids(expected));
  });
});

Deno.test("A file uploaded through another process on the same DATA_DIR is listed at once, and its deletion too", async () => {
  await withTempDir(async (dataDir) => {
    await using local = await serveApp({ dataDir });
    await upload(local.url, "mine");
    assert.equal((await listAll(local.url, 10)).length, 1);
    await using other = await spawnService([], {
      env: { DATA_DIR: dataDir, UPSTREAM_URL: "http://127.0.0.1:9" },
    });
    for (let i = 0; i < 3; i++) {
      const theirs = await upload(other.url, `theirs ${i}`);
      const listed = await listAll(local.url, 10);
      assert.ok(listed.some((m) => m.id === theirs.id), `round ${i}`);
      assert.deepEqual(await listAll(other.url, 10), listed);
      await remove(other.url, theirs.id);
      assert.ok(
        !(await listAll(local.url, 10)).some((m) => m.id === theirs.id),
      );
    }
  });
});

Deno.test("Three instances on one DATA_DIR behind nginx: whatever one stores or deletes, every one lists", async () => {
  await withTempDir(async (dataDir) => {
    await using a = await serveApp({ dataDir });
    await using b = await serveApp({ dataDir });
    await using c = await serveApp({ dataDir });
    const ports = [a, b, c].map((s) => Number(new URL(s.url).port));
    await using lb = await startLoadBalancer({ upstreams: ports });
    const stored: string[] = [];
    for (let i = 0; i < 6; i++) {
      // Round-robin: each upload and each listing goes to the next instance.
      stored.push((await upload(lb.url, `through nginx ${i}`)).id);
      for (let j = 0; j < 3; j++) {
        assert.deepEqual(
          ids(await listAll(lb.url, 100)).toSorted(),
          stored.toSorted(),
        );
      }
    }
    while (stored.length > 3) {
      await remove(lb.url, stored.shift()!);
      for (let j = 0; j < 3; j++) {
        assert.deepEqual(
          ids(await listAll(lb.url, 100)).toSorted(),
          stored.toSorted(),
        );
      }
    }
  });
});
