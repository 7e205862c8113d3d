/**
 * A file id's objects in an {@linkcode S3Storage}'s bucket: their keys
 * (`files/<id>`, `meta/<id>.json`), and what holds the id (a multipart
 * upload in progress, the content stored, or nothing).
 *
 * @module
 */

import type { S3Bucket } from "./s3_bucket.ts";
import { xmlValues } from "./s3_xml.ts";

/** The content key of file `id`. */
export function contentKey(id: string): string {
  return `files/${id}`;
}

/** The metadata key of file `id`. */
export function metadataKey(id: string): string {
  return `meta/${id}.json`;
}

/**
 * What {@linkcode findHolder} found holding an id: another multipart upload
 * in progress, the content stored, or nothing (a metadata object of the id
 * is then a leftover).
 */
export type IdHolding = "upload" | "content" | "none";

/**
 * What holds `id` besides `ownUploadId` (the asking upload's multipart
 * upload): a multipart upload in progress, else the content, else nothing.
 * With nothing, the metadata object of `id` is a leftover nobody holds:
 * every claim is made with its upload in progress, and that lasts until its
 * content is there, so such an object is no live upload's (a delete that
 * removed the content and failed before the metadata, a 503 or a crash,
 * leaves one, and made every later upload of the id 409 for good). Two
 * uploads of the id at once each see the other's upload: neither takes it
 * (both 409), never both. The answer is what the asker needs next, so
 * that it does not look again (the content is looked at once).
 */
export async function findHolder(
  bucket: S3Bucket,
  id: string,
  ownUploadId?: string,
): Promise<IdHolding> {
  // Uploads first: one that completes between the two looks then shows
  // its content to the second (the other order missed both, and took
  // a stored file's metadata for a leftover).
  const xml = await bucket.text({
    method: "GET",
    key: "",
    query: { uploads: "", prefix: contentKey(id) },
  });
  if (xmlValues(xml, "UploadId").some((upload) => upload !== ownUploadId)) {
    return "upload";
  }
  return await hasContent(bucket, id) ? "content" : "none";
}

/** Whether the content of `id` is stored (HeadObject of `files/<id>`). */
export async function hasContent(
  bucket: S3Bucket,
  id: string,
): Promise<boolean> {
  const head = await bucket.send({
    method: "HEAD",
    key: contentKey(id),
    expect: [404],
  });
  await head.body?.cancel();
  return head.ok;
}
