/**
 * A stored file read for a download (`LocalDiskStorage.read`) comes in
 * chunks that hold their own bytes only: `file.readable` handed a 4 KiB
 * file as a view of a 64 KiB buffer (two 64 KiB buffers allocated and
 * zeroed, two reads), and a range's last chunk as a cut of one, each kept
 * alive while the runtime queued it for a client not reading.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createLocalDiskStorage } from "../services/storage/local_disk.ts";
import { FILE_CHUNK_BYTES } from "../services/storage/file_chunks.ts";
import type { ReadRange } from "../services/storage/storage.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

/** The chunks of `stream`, in order. */
async function chunksOf(
  stream: ReadableStream<Uint8Array> | undefined,
): Promise<Uint8Array[]> {
  assert.ok(stream);
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** Each chunk's length, and whether its buffer is no larger than it. */
function shapes(chunks: Uint8Array[]): [number, boolean][] {
  return chunks.map((
    c,
  ) => [c.byteLength, c.buffer.byteLength === c.byteLength]);
}

const joined = (chunks: Uint8Array[]) =>
  new Uint8Array(chunks.flatMap((c) => [...c]));

Deno.test("LocalDiskStorage.read: a download's chunks hold only their bytes, whole files and ranges", async () => {
  await withTempDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const store1 = async (bytes: Uint8Array) => {
      const upload = await store.begin();
      await upload.write(bytes);
      return await upload.commit({
        size: bytes.byteLength,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      });
    };
    const small = crypto.getRandomValues(new Uint8Array(4096));
    const big = new Uint8Array(2 * FILE_CHUNK_BYTES + 100).map((_, i) => i);
    const smallMeta = await store1(small);
    const bigMeta = await store1(big);

    // As a download reads it: the version checked, its size known.
    const whole = await chunksOf(
      await store.read(smallMeta.id, undefined, smallMeta),
    );
    assert.deepEqual(shapes(whole), [[4096, true]]);
    assert.deepEqual(joined(whole), small);

    const many = await chunksOf(
      await store.read(bigMeta.id, undefined, bigMeta),
    );
    assert.deepEqual(shapes(many), [
      [FILE_CHUNK_BYTES, true],
      [FILE_CHUNK_BYTES, true],
      [100, true],
    ]);
    assert.deepEqual(joined(many), big);

    // No version given: the size is the file's.
    const unchecked = await chunksOf(await store.read(bigMeta.id));
    assert.deepEqual(joined(unchecked), big);

    // A range across a chunk's end, and one inside the last chunk.
    const across: ReadRange = {
      start: FILE_CHUNK_BYTES - 10,
      end: FILE_CHUNK_BYTES + 9,
    };
    const part = await chunksOf(await store.read(bigMeta.id, across, bigMeta));
    assert.deepEqual(shapes(part), [[20, true]]);
    assert.deepEqual(joined(part), big.subarray(across.start, across.end + 1));
    const tail: ReadRange = {
      start: 2 * FILE_CHUNK_BYTES + 50,
      end: 2 * FILE_CHUNK_BYTES + 99,
    };
    const end = await chunksOf(await store.read(bigMeta.id, tail, bigMeta));
    assert.deepEqual(shapes(end), [[50, true]]);
    assert.deepEqual(joined(end), big.subarray(tail.start));
    await store.close();
  });
});

Deno.test("LocalDiskStorage.read: a download cancelled after its first chunk closes the file", async () => {
  await withTempDir(async (dir) => {
    const store = await createLocalDiskStorage({ dir });
    const bytes = new Uint8Array(3 * FILE_CHUNK_BYTES);
    const upload = await store.begin();
    await upload.write(bytes);
    const meta = await upload.commit({
      size: bytes.byteLength,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
    const stream = await store.read(meta.id, undefined, meta);
    assert.ok(stream);
    const reader = stream.getReader();
    const first = await reader.read();
    assert.equal(first.value?.byteLength, FILE_CHUNK_BYTES);
    // The sanitizer fails the test if the file is left open.
    await reader.cancel("client gone");
    await store.close();
  });
});
