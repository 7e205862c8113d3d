/**
 * The tombstone a `DELETE /files/:id` on an S3 store writes over the
 * file's metadata object to claim it (`s3_delete.ts`): its format, the
 * metadata object read with its ETag and whichever claim it holds, and
 * the removal of a claimed file. A delete that stopped after its claim
 * (a 503, a crash) leaves the tombstone with the content: the file is
 * gone for readers, and the next delete of the id or the leftover sweep
 * (`s3_leftovers.ts`) finishes it with {@linkcode removeClaimed}.
 *
 * @module
 */

import { z } from "zod";
import { FileIdSchema, type FileMetadata, parseMetadata } from "./metadata.ts";
import type { S3Bucket } from "./s3_bucket.ts";
import { contentKey, metadataKey } from "./s3_keys.ts";
import { parseJsonWith } from "../ops/json_text.ts";

/** The metadata object of an id as read, with its S3 ETag. */
export interface MetadataObject {
  /** The file's metadata; `undefined` for a tombstone or what is unreadable. */
  meta: FileMetadata | undefined;
  /** The claim of the delete whose tombstone it is, if it is one. */
  claim: string | undefined;
  /** The object's ETag as the store sent it, if it did. */
  etag: string | null;
}

const TombstoneSchema = z.object({ deleting: FileIdSchema, claim: z.string() });

/** Reads `meta/<id>.json`; `undefined` when there is none. */
export async function readMetadataObject(
  bucket: S3Bucket,
  id: string,
): Promise<MetadataObject | undefined> {
  const res = await bucket.send({
    method: "GET",
    key: metadataKey(id),
    expect: [404],
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  const etag = res.headers.get("etag");
  const text = await res.text();
  const tombstone = parseJsonWith(TombstoneSchema, text);
  const claim = tombstone?.deleting === id ? tombstone.claim : undefined;
  return { meta: parseMetadata(id, text), claim, etag };
}

/**
 * The size of every tombstone (an id, a random UUID): a listing tells one
 * from metadata by it (metadata holds an id and a SHA-256 in hex, longer).
 */
export const TOMBSTONE_BYTES = tombstoneBytes(
  "0".repeat(32),
  crypto.randomUUID(),
).byteLength;

/**
 * The tombstone of a delete of `id` whose claim is `claim` (a random
 * UUID: {@linkcode TOMBSTONE_BYTES}).
 */
export function tombstoneBytes(
  id: string,
  claim: string,
): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify({ deleting: id, claim }));
}

/** Removes the content of a claimed file, then its tombstone. */
export async function removeClaimed(
  bucket: S3Bucket,
  id: string,
): Promise<void> {
  // Content first: stopped in between, the tombstone stays, and the next
  // delete of the id or the leftover sweep finds it.
  await bucket.run({ method: "DELETE", key: contentKey(id) });
  await bucket.run({ method: "DELETE", key: metadataKey(id) });
}
