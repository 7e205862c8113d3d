/**
 * `DELETE /files/:id` with preconditions checks and deletes one and the
 * same version of the file. Before, it read the file's metadata, evaluated
 * the preconditions, then deleted whatever bore the id by then: in a
 * process sharing `DATA_DIR` with others (the workers of
 * `deno serve --parallel`), a file deleted and uploaded again under the
 * same id (a client's `Upload-Id`) by another process was deleted by
 * `If-Match` naming the old version's `ETag` (204), its metadata read from
 * this process's index of the old one. Now the store reads the file's own
 * metadata and decides, then takes the file aside (an atomic rename) and
 * deletes it only if it is the version decided on: the file that is there
 * stays. A refused delete leaves the file where it is: when it was taken
 * aside first, other processes saw it missing meanwhile.
 *
 * @module
 */

import assert from "node:assert/strict";
import { putWithId, sendDiscarding } from "./fixtures/files_service.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { newId } from "./fixtures/upload_events.ts";

Deno.test("DELETE If-Match of an old version, the id uploaded again by another process: 412, the new file stays", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    const id = newId();
    const old = await putWithId(a.url, id, new Uint8Array(1000).fill(1));
    // A knows the old version: its listing's index holds its metadata.
    const listed = await fetch(`${a.url}/files`);
    assert.equal((await listed.json()).items[0].id, id);
    assert.equal(
      (await sendDiscarding(`${a.url}/files/${id}`, { method: "HEAD" })).headers
        .get(
          "etag",
        ),
      old,
    );
    // Another process deletes it and takes the id for new content.
    assert.equal(
      (await sendDiscarding(`${b.url}/files/${id}`, { method: "DELETE" }))
        .status,
      204,
    );
    const fresh = await putWithId(b.url, id, new Uint8Array(1000).fill(2));
    assert.notEqual(fresh, old);
    // "Delete only the version I know" must not delete the new one.
    const res = await sendDiscarding(`${a.url}/files/${id}`, {
      method: "DELETE",
      headers: { "if-match": old },
    });
    assert.equal(res.status, 412);
    assert.equal(res.headers.get("etag"), fresh);
    const kept = await fetch(`${b.url}/files/${id}`);
    assert.equal(kept.status, 200);
    assert.deepEqual(await kept.bytes(), new Uint8Array(1000).fill(2));
    // The version it names goes.
    const gone = await sendDiscarding(`${a.url}/files/${id}`, {
      method: "DELETE",
      headers: { "if-match": fresh },
    });
    assert.equal(gone.status, 204);
    assert.equal((await sendDiscarding(`${b.url}/files/${id}`)).status, 404);
    // Nothing left aside.
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${dir}/files`))).map((e) => e.name),
      [],
    );
  }));

Deno.test("DELETE If-Match racing an unconditional DELETE and a new upload of the id: never the new version", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    for (let round = 0; round < 20; round++) {
      const id = newId();
      const old = await putWithId(a.url, id, new Uint8Array(100).fill(round));
      const conditional = sendDiscarding(`${a.url}/files/${id}`, {
        method: "DELETE",
        headers: { "if-match": old },
      });
      const replaced = (async () => {
        await sendDiscarding(`${b.url}/files/${id}`, { method: "DELETE" });
        const res = await fetch(`${b.url}/files`, {
          method: "POST",
          headers: { "upload-id": id },
          body: new Uint8Array(100).fill(255 - round),
        });
        await res.body?.cancel();
        return res.status;
      })();
      const [deleted, uploaded] = await Promise.all([conditional, replaced]);
      const now = await fetch(`${b.url}/files/${id}`);
      const body = now.status === 200 ? await now.bytes() : undefined;
      await now.body?.cancel().catch(() => {});
      if (uploaded === 201 && body === undefined) {
        // The new version was stored, and is gone: only the conditional
        // DELETE can have taken it, which named the old one.
        assert.fail(
          `round ${round}: ${deleted.status} deleted the new version`,
        );
      }
    }
  }));

Deno.test("DELETE If-Match of another version, again and again on one process: downloads through another are never 404", () =>
  withTempDir(async (dir) => {
    await using a = await serveApp({ dataDir: dir });
    await using b = await serveApp({ dataDir: dir });
    const id = newId();
    await putWithId(a.url, id, new Uint8Array(1000).fill(3));
    const until = Date.now() + 1500;
    const refusals = new Set<number>();
    const statuses = new Map<number, number>();
    const deleter = (async () => {
      while (Date.now() < until) {
        const res = await sendDiscarding(`${a.url}/files/${id}`, {
          method: "DELETE",
          headers: { "if-match": '"another-version"' },
        });
        refusals.add(res.status);
      }
    })();
    // Before: the file was renamed aside while each verdict was made, and
    // 38 % of these GETs were 404 (and some 503) for a file never deleted.
    const getters = Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        const res = await sendDiscarding(`${b.url}/files/${id}`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    });
    await Promise.all([deleter, ...getters]);
    assert.deepEqual([...refusals], [412]);
    assert.deepEqual(
      [...statuses.keys()],
      [200],
      JSON.stringify([...statuses]),
    );
  }));
