/**
 * `DELETE /files/:id` on an S3 store, claimed in one atomic step so that
 * of two deletes of one file at once exactly one deletes it (204) and the
 * other finds none (404), as on the disk, where the content's unlink (or
 * rename aside) succeeds once. S3's DeleteObject cannot tell: it answers
 * 204 for a key that is already gone, and radosgw 16 ignores `If-Match`
 * on it (tests/s3_delete_conditional_test.ts), so both deletes were 204.
 *
 * The claim is a conditional PUT over the metadata object: a tombstone
 * (`{"deleting":"<id>","claim":"<random>"}`) written only if the object is
 * still the one read (`If-Match` with its ETag; `If-None-Match: *` when
 * there was none). radosgw makes that check and the write one step: of
 * two PUTs with the same `If-Match`, one is stored and the other refused
 * (0 of 20 pairs both stored). From the claim on, the file is gone for readers
 * (a tombstone is no metadata: 404, unlisted), then its content and the
 * tombstone are removed. A delete that stops in between (a 503, a crash)
 * leaves the tombstone, with or without content: the next delete of the
 * id finishes the job and answers 404 (the file was gone already), an
 * upload of the id takes a tombstone without content over as it takes any
 * leftover (`s3_upload.ts`), and the leftover sweep removes one without
 * content (`s3_leftovers.ts`).
 *
 * A conditional delete decides on the metadata read, and the claim is made
 * only over that very object: a file deleted and stored again under its id
 * in between is not deleted for the old version's `ETag`.
 *
 * @module
 */

import type { FileMetadata } from "./metadata.ts";
import type { S3Bucket } from "./s3_bucket.ts";
import { removeLeftover } from "./s3_leftovers.ts";
import {
  type MetadataObject,
  readMetadataObject,
  removeClaimed,
  tombstoneBytes,
} from "./s3_tombstone.ts";
import { hasContent, metadataKey } from "./s3_keys.ts";
import {
  type ConditionalDeletion,
  StorageUnavailableError,
} from "./storage.ts";

/**
 * Deletes file `id` (an id already checked) unless another delete claims
 * it first; whether this one deleted it.
 */
export async function deleteStored(
  bucket: S3Bucket,
  id: string,
): Promise<boolean> {
  const [stored, object] = await Promise.all([
    hasContent(bucket, id),
    readMetadataObject(bucket, id),
  ]);
  if (!stored) {
    await removeLeftover(bucket, id);
    return false;
  }
  // Claimed by another delete, running or stopped halfway: finished here
  // too (both remove the same keys), and the file was gone before this one.
  if (object?.claim !== undefined) {
    await removeClaimed(bucket, id);
    return false;
  }
  if (!(await claim(bucket, id, object))) return false;
  await removeClaimed(bucket, id);
  return true;
}

/**
 * Deletes file `id` if `holds` is true of its metadata, claimed over the
 * very metadata object it was decided on; when another change came first,
 * `lookAgain` says what is there now.
 */
export async function deleteStoredIf(
  bucket: S3Bucket,
  id: string,
  holds: (meta: FileMetadata) => boolean,
  lookAgain: () => Promise<FileMetadata | undefined>,
): Promise<ConditionalDeletion> {
  const [stored, object] = await Promise.all([
    hasContent(bucket, id),
    readMetadataObject(bucket, id),
  ]);
  const meta = object?.meta;
  if (!stored || meta === undefined) return "missing";
  if (!holds(meta)) return { refused: meta };
  if (!(await claim(bucket, id, object))) {
    const now = await lookAgain();
    return now === undefined ? "missing" : { refused: now };
  }
  await removeClaimed(bucket, id);
  return "deleted";
}

/**
 * Writes a tombstone of its own (a random claim) over `object` (or where
 * there was none); whether it holds the id now. Any answer but a 2xx is
 * checked by reading the object again: radosgw answers the loser of two
 * such PUTs at once 500 `UnknownError` (19 of 20 pairs; 412 in the
 * other), and a PUT sent again after a broken connection (`S3Bucket`) is 412 when the
 * first one was stored. The tombstone there is then this claim's (won),
 * another's or another version (lost), or still `object` (the store
 * failed: thrown). radosgw 16 compares `If-Match` with the bare ETag
 * (quoted, as HTTP and S3 send it, always 412): the bare one is sent,
 * then the quoted one if the object is unchanged after a 412.
 */
async function claim(
  bucket: S3Bucket,
  id: string,
  object: MetadataObject | undefined,
): Promise<boolean> {
  const mine = crypto.randomUUID();
  const tombstone = tombstoneBytes(id, mine);
  let answer: number | Error = 0;
  for (const condition of conditionsOver(object)) {
    answer = await bucket.run({
      method: "PUT",
      key: metadataKey(id),
      headers: { "content-type": "application/json", ...condition },
      body: tombstone,
      expect: [412, 500],
    }).catch((error: Error) => error);
    if (typeof answer === "number" && answer < 300) return true;
    const now = await readMetadataObject(bucket, id);
    if (now !== undefined && now.claim === mine) return true;
    if (now?.etag !== object?.etag) return false;
    if (answer !== 412) break;
  }
  throw answer instanceof Error ? answer : new StorageUnavailableError(
    `The object store answered ${answer} to a delete's claim of ${id}, ` +
      "and the object is unchanged",
  );
}

/** The preconditions to try, in turn, for a claim over `object`. */
function conditionsOver(
  object: MetadataObject | undefined,
): Record<string, string>[] {
  if (object === undefined) return [{ "if-none-match": "*" }];
  const { etag } = object;
  // A store that sent no ETag cannot be asked: claimed unconditionally.
  if (etag === null) return [{}];
  return [{ "if-match": etag.replaceAll('"', "") }, { "if-match": etag }];
}
