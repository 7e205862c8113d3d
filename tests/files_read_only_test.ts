/**
 * `DATA_DIR` turning read-only under a running service (ext4 remounts
 * itself read-only after disk errors; here a real tmpfs remounted `ro`):
 * uploads are refused as the storage being unavailable (503 with
 * Retry-After, logged), not as a server bug (500), downloads and listing
 * go on, and uploads work again once the disk takes writes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { mountTmpfs } from "./fixtures/tmpfs.ts";

async function upload(url: string, body: Uint8Array<ArrayBuffer>) {
  const res = await fetch(`${url}/files`, { method: "POST", body });
  return { res, text: await res.text() };
}

Deno.test("a DATA_DIR remounted read-only: uploads 503 with Retry-After, reads go on, writes again once rw", async () => {
  await using disk = await mountTmpfs();
  await using served = await serveApp({ dataDir: disk.dir });
  const first = await upload(served.url, new Uint8Array(100_000).fill(1));
  assert.equal(first.res.status, 201, first.text);
  const { id } = JSON.parse(first.text);
  await disk.readOnly();
  try {
    const refused = await upload(served.url, new Uint8Array(100_000).fill(2));
    assert.equal(refused.res.status, 503, refused.text);
    assert.ok(Number(refused.res.headers.get("retry-after")) > 0);
    assert.match(
      refused.res.headers.get("content-type") ?? "",
      /application\/problem\+json/,
    );
    // The path and the OS error go to the log, not to the client.
    assert.doesNotMatch(refused.text, /tmpfs|Read-only|os error/);
    assert.ok(
      served.records.some((r) =>
        r.msg === "files.storage_unavailable" &&
        /Read-only file system/.test(JSON.stringify(r.error))
      ),
    );
    const read = await fetch(`${served.url}/files/${id}`);
    assert.equal((await read.bytes()).byteLength, 100_000);
    const list = await (await fetch(`${served.url}/files`)).json();
    assert.deepEqual(list.items.map((f: { id: string }) => f.id), [id]);
  } finally {
    await disk.readWrite();
  }
  const again = await upload(served.url, new Uint8Array(100_000).fill(3));
  assert.equal(again.res.status, 201, again.text);
  const names = [...Deno.readDirSync(`${disk.dir}/files`)].map((e) => e.name);
  assert.equal(names.filter((n) => n.endsWith(".part")).length, 0);
});
