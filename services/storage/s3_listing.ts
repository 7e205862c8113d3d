/**
 * Every key under a prefix of an S3 bucket, with its last change (and
 * size): the
 * sweeps' view of the bucket (heartbeats under `live/`, the metadata
 * objects deletes left under `meta/`), read page by page with
 * ListObjectsV2.
 *
 * @module
 */

import type { S3Bucket, S3Request } from "./s3_bucket.ts";
import { xmlValue, xmlValues } from "./s3_xml.ts";

/**
 * A listing of no keys: the cheapest request that says whether the bucket
 * serves, naming it missing or the credentials refused in its answer (a
 * HeadBucket's has no body). Not any 200: a store taking the bucket's host
 * for its own (`S3_FORCE_PATH_STYLE=false` where buckets go by path)
 * answers a listing of all buckets, which passed for ready.
 */
export const NO_KEYS: S3Request = {
  method: "GET",
  key: "",
  query: { "list-type": "2", prefix: "files/", "max-keys": "0" },
  answer: "ListBucketResult",
};

/** What a listing tells of one object. */
export interface ListedObject {
  /** `LastModified` in ms since the epoch, by the store's clock (or `NaN`). */
  at: number;
  /** Bytes (`NaN` when the store gave none it reads). */
  size: number;
}

/**
 * Every key under `prefix` -> its `LastModified` in milliseconds since the
 * epoch, by the store's clock (`NaN` when the store gave none it reads).
 */
export async function keysUnder(
  bucket: S3Bucket,
  prefix: string,
): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  for (const [key, { at }] of await objectsUnder(bucket, prefix)) {
    keys.set(key, at);
  }
  return keys;
}

/** Every key under `prefix` -> its last change and size. */
export async function objectsUnder(
  bucket: S3Bucket,
  prefix: string,
): Promise<Map<string, ListedObject>> {
  const objects = new Map<string, ListedObject>();
  let token: string | undefined;
  do {
    const xml = await bucket.text({
      method: "GET",
      key: "",
      query: {
        "list-type": "2",
        prefix,
        ...(token === undefined ? {} : { "continuation-token": token }),
      },
      answer: "ListBucketResult",
    });
    for (const [, item] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const key = xmlValue(item!, "Key");
      const at = Date.parse(xmlValue(item!, "LastModified") ?? "");
      const size = Number(xmlValue(item!, "Size") ?? NaN);
      if (key !== undefined) objects.set(key, { at, size });
    }
    token = xmlValues(xml, "IsTruncated")[0] === "true"
      ? xmlValue(xml, "NextContinuationToken")
      : undefined;
  } while (token !== undefined);
  return objects;
}
