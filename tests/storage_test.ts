/**
 * The storage interface: a local-disk upload from `begin()` is written to
 * `<id>.part` and becomes `<id>` + `<id>.json` only on commit; an abort
 * keeps nothing. And the upload pipeline needs nothing but such a handle:
 * an in-memory sink (as an S3 multipart upload would be) works the same.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import { isValidId } from "../services/storage/metadata.ts";
import type { FileStorage } from "../services/storage/storage.ts";
import { UploadTooLargeError } from "../services/uploads/errors.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import type { StoredFile, UploadSink } from "../services/uploads/sink.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";

const text = (s: string) => new TextEncoder().encode(s);
const sha256Hex = (data: Uint8Array) =>
  createHash("sha256").update(data).digest("hex");

Deno.test("LocalDiskStorage: begin writes <id>.part; commit makes <id> and <id>.json, listed and readable", async () => {
  await withTempDir(async (dir) => {
    const storage: FileStorage = await createLocalDiskStorage({ dir });
    const upload = await storage.begin();
    assert.ok(isValidId(upload.id));
    await upload.write(text("hello "));
    await upload.write(text("world"));
    assert.deepEqual(await listDir(dir), [`${upload.id}.part`]);
    assert.equal(await storage.stat(upload.id), undefined);

    const meta = await upload.commit({
      size: 11,
      sha256: sha256Hex(text("hello world")),
      filename: "greeting.txt",
    });
    assert.equal(meta.id, upload.id);
    assert.equal(meta.filename, "greeting.txt");
    assert.ok(!Number.isNaN(Date.parse(meta.created)));
    assert.deepEqual(await listDir(dir), [upload.id, `${upload.id}.json`]);
    assert.deepEqual(await storage.stat(upload.id), meta);
    assert.deepEqual((await storage.list()).items, [meta]);
    const whole = await storage.read(upload.id);
    assert.equal(await new Response(whole).text(), "hello world");
    const part = await storage.read(upload.id, { start: 6, end: 10 });
    assert.equal(await new Response(part).text(), "world");

    const other = await storage.begin();
    assert.notEqual(other.id, upload.id);
    await other.abort();
    assert.equal(await storage.delete(upload.id), true);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("LocalDiskStorage: abort keeps nothing, before a commit and after a failed one", async () => {
  await withTempDir(async (dir) => {
    const storage = await createLocalDiskStorage({ dir });
    const upload = await storage.begin();
    await upload.write(text("partial"));
    await upload.abort();
    await upload.abort();
    assert.deepEqual(await listDir(dir), []);
    await assert.rejects(upload.write(text("more")), TypeError);

    // The sidecar cannot be made (its name is taken by a folder): the
    // commit fails, and the abort removes what it had done.
    const failing = await storage.begin();
    await failing.write(text("data"));
    await Deno.mkdir(join(dir, `${failing.id}.json.part`));
    await assert.rejects(failing.commit({ size: 4, sha256: "00" }));
    await failing.abort();
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload needs nothing but a sink: an in-memory one works, and is aborted on failure", async () => {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const events: string[] = [];
  const memorySink = (): Promise<UploadSink> =>
    Promise.resolve({
      id: "memory",
      write(chunk) {
        // Copied: the pipeline refills the buffer after the write.
        chunks.push(chunk.slice());
        return Promise.resolve();
      },
      commit(content): Promise<StoredFile> {
        events.push("commit");
        return Promise.resolve({
          id: "memory",
          created: "2026-01-01T00:00:00.000Z",
          ...content,
        });
      },
      abort() {
        events.push("abort");
        return Promise.resolve();
      },
    });
  const data = new Uint8Array(300 * 1024).map((_, i) => i & 0xff);
  const result = await receiveUpload(ReadableStream.from([data]), {
    begin: memorySink,
    maxBytes: data.byteLength,
    queueBytes: 64 * 1024,
    writeBytes: 16 * 1024,
  });
  assert.equal(result.id, "memory");
  assert.equal(result.sha256, sha256Hex(data));
  assert.deepEqual(
    new Uint8Array(await new Blob(chunks).arrayBuffer()),
    data,
  );
  assert.deepEqual(events, ["commit"]);

  events.length = 0;
  await assert.rejects(
    receiveUpload(ReadableStream.from([data]), {
      begin: memorySink,
      maxBytes: 1024,
    }),
    UploadTooLargeError,
  );
  assert.deepEqual(events, ["abort"]);
});
