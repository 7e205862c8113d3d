/**
 * Metadata objects a delete left behind on an S3 store: `DELETE
 * /files/<id>` claims the file (a tombstone over `meta/<id>.json`,
 * `s3_delete.ts`), removes the content, then the tombstone, and a failure
 * between the two (a 503 from the store, a crash) leaves that object
 * (an older version's delete left the metadata itself), never listed
 * (listing goes by content) and never read (a read asks for the content
 * first), but kept for good: no sweep of multipart uploads finds it. The delete's retry removes it
 * ({@linkcode removeLeftover}), and so does the sweep
 * ({@linkcode sweepLeftovers}, at start and every `S3_LEFTOVER_SWEEP_MS`),
 * once it is older than the uploads' idle timeout. The sweep also finishes
 * a delete that stopped after its claim, before the content went (a
 * tombstone with content: `s3_tombstone.ts`).
 *
 * @module
 */

import type { S3Bucket } from "./s3_bucket.ts";
import { findHolder, metadataKey } from "./s3_keys.ts";
import { keysUnder, objectsUnder } from "./s3_listing.ts";
import {
  readMetadataObject,
  removeClaimed,
  TOMBSTONE_BYTES,
} from "./s3_tombstone.ts";

const CONTENT = /^files\/([0-9a-f]{32})$/;
const METADATA = /^meta\/([0-9a-f]{32})\.json$/;

/**
 * Removes the metadata object of `id` when it is a leftover nobody holds
 * (no content, no multipart upload in progress: {@linkcode findHolder});
 * whether it did.
 */
export async function removeLeftover(
  bucket: S3Bucket,
  id: string,
): Promise<boolean> {
  if ((await findHolder(bucket, id)) !== "none") return false;
  await bucket.run({ method: "DELETE", key: metadataKey(id) });
  return true;
}

/**
 * Removes the metadata objects without content changed more than
 * `olderThanMs` ago that are leftovers (checked one by one: an upload of
 * the id may have begun since the listing), and finishes the deletes that
 * stopped after their claim (a tombstone with the content still there:
 * told by its size, then read); how many it removed or finished. Stops
 * (rejecting with its reason) once `signal` aborts, between two requests.
 */
export async function sweepLeftovers(
  bucket: S3Bucket,
  olderThanMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const metadata = await objectsUnder(bucket, "meta/");
  signal?.throwIfAborted();
  const stored = new Set<string>();
  for (const key of (await keysUnder(bucket, "files/")).keys()) {
    const id = CONTENT.exec(key)?.[1];
    if (id !== undefined) stored.add(id);
  }
  const cutoff = Date.now() - olderThanMs;
  let removed = 0;
  for (const [key, { at, size }] of metadata) {
    const id = METADATA.exec(key)?.[1];
    if (id === undefined || !(at <= cutoff)) continue;
    if (stored.has(id) && size !== TOMBSTONE_BYTES) continue;
    signal?.throwIfAborted();
    const done = stored.has(id)
      ? await finishClaimed(bucket, id)
      : await removeLeftover(bucket, id);
    if (done) removed++;
  }
  return removed;
}

/** Removes claimed file `id` if its metadata object is a tombstone. */
async function finishClaimed(bucket: S3Bucket, id: string): Promise<boolean> {
  if ((await readMetadataObject(bucket, id))?.claim === undefined) {
    return false;
  }
  await removeClaimed(bucket, id);
  return true;
}
