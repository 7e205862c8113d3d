/**
 * The part buffers of an S3 upload (`services/storage/s3_upload.ts`)
 * against a real Ceph radosgw: at most `partsInFlight` of them exist at
 * once, the parts uploading and the one filling together. The next part's
 * buffer used to be taken before the wait for a free slot, a buffer more
 * than the parts in flight (8 MiB of the S3 bench's peak RSS). Counted as
 * the isolate's external memory (every ArrayBuffer's bytes, resident or
 * not) after each write: no timing involved. A small upload held a whole
 * part too, until the first part grew as its bytes came.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest } from "./fixtures/s3_app.ts";
import type { Ceph } from "./fixtures/ceph.ts";
import { S3Storage } from "../services/storage/s3.ts";

const MiB = 1024 * 1024;

/** A store on `ceph`'s bucket with parts of `partBytes`. */
function storageOn(
  ceph: Ceph,
  partBytes: number,
  partsInFlight: number,
): S3Storage {
  return new S3Storage({
    endpoint: new URL(ceph.endpoint),
    bucket: ceph.bucket,
    accessKeyId: ceph.accessKeyId,
    secretAccessKey: ceph.secretAccessKey,
    partBytes,
    partsInFlight,
  });
}

/** Reads stored file `id` back; asserts its length and SHA-256. */
async function assertStored(
  storage: S3Storage,
  id: string,
  expected: { size: number; sha256: string },
): Promise<void> {
  const read = await storage.read(id);
  assert.ok(read, "the stored file is readable");
  const got = createHash("sha256");
  let length = 0;
  for await (const piece of read) {
    got.update(piece);
    length += piece.byteLength;
  }
  assert.equal(length, expected.size);
  assert.equal(got.digest("hex"), expected.sha256);
}

cephTest(
  "s3: an upload holds at most parts-in-flight part buffers, the filling one included",
  async () => {
    await using ceph = await sharedCeph();
    const partBytes = 5 * MiB;
    const partsInFlight = 2;
    using storage = storageOn(ceph, partBytes, partsInFlight);
    // One chunk, written again and again with a different first byte: the
    // writes allocate nothing of their own.
    const chunk = new Uint8Array(MiB);
    const hash = createHash("sha256");
    const chunks = 40;
    const before = Deno.memoryUsage().external;
    let peak = 0;
    const upload = await storage.begin();
    for (let i = 0; i < chunks; i++) {
      chunk[0] = i;
      hash.update(chunk);
      await upload.write(chunk);
      peak = Math.max(peak, Deno.memoryUsage().external - before);
    }
    const sha256 = hash.digest("hex");
    const stored = await upload.commit({ size: chunks * MiB, sha256 });
    assert.equal(stored.size, chunks * MiB);
    // The parts' buffers plus 1 MiB for the client's own small buffers:
    // one buffer more is 5 MiB more.
    assert.ok(
      peak <= partsInFlight * partBytes + MiB,
      `external memory grew by ${
        (peak / MiB).toFixed(1)
      } MiB, more than ${partsInFlight} parts of ${partBytes / MiB} MiB`,
    );
    await assertStored(storage, upload.id, { size: chunks * MiB, sha256 });
  },
);

cephTest(
  "s3: a small upload holds a buffer of about its size, not a whole part",
  async () => {
    await using ceph = await sharedCeph();
    const partBytes = 8 * MiB;
    using storage = storageOn(ceph, partBytes, 4);
    // 16 uploads of 3 bytes at once: each took a whole part (8 MiB,
    // resident once zeroed), 128 MiB for 48 bytes.
    const data = new TextEncoder().encode("hi\n");
    const sha256 = createHash("sha256").update(data).digest("hex");
    const before = Deno.memoryUsage().external;
    const uploads = await Promise.all(
      Array.from({ length: 16 }, () => storage.begin()),
    );
    for (const upload of uploads) await upload.write(data);
    const grown = Deno.memoryUsage().external - before;
    assert.ok(
      grown <= 4 * MiB,
      `16 uploads of 3 bytes hold ${(grown / MiB).toFixed(1)} MiB`,
    );
    const stored = await Promise.all(
      uploads.map((upload) => upload.commit({ size: data.byteLength, sha256 })),
    );
    for (const { id, size } of stored) {
      assert.equal(size, data.byteLength);
      await assertStored(storage, id, { size, sha256 });
    }
  },
);

cephTest(
  "s3: writes of every size across the first part's growth store the bytes sent, in parts of partBytes",
  async () => {
    await using ceph = await sharedCeph();
    const partBytes = 5 * MiB;
    using storage = storageOn(ceph, partBytes, 2);
    // Writes of 1 byte to 3 MiB, past two parts: the first buffer grows
    // under them (64 KiB, doubling) and every part but the last is whole
    // (S3 refuses a smaller one at the completion).
    const sizes = [1, 1000, 65_535, 2, 200_000, 3 * MiB, 777, 1 * MiB];
    const hash = createHash("sha256");
    const upload = await storage.begin();
    let size = 0;
    for (let round = 0; round < 3; round++) {
      for (const [i, n] of sizes.entries()) {
        const chunk = new Uint8Array(n).fill((round * 31 + i) & 0xff);
        hash.update(chunk);
        await upload.write(chunk);
        size += n;
      }
    }
    assert.ok(size > 2 * partBytes, String(size));
    const sha256 = hash.digest("hex");
    const stored = await upload.commit({ size, sha256 });
    assert.equal(stored.size, size);
    await assertStored(storage, upload.id, { size, sha256 });
  },
);
