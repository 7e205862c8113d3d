/**
 * Every key under a prefix of an S3 bucket, with its last change: the
 * sweeps' view of the bucket (heartbeats under `live/`, the metadata
 * objects deletes left under `meta/`), read page by page with
 * ListObjectsV2.
 *
 * @module
 */

import type { S3Bucket } from "./s3_bucket.ts";
import { xmlValue, xmlValues } from "./s3_xml.ts";

/**
 * Every key under `prefix` -> its `LastModified` in milliseconds since the
 * epoch, by the store's clock (`NaN` when the store gave none it reads).
 */
export async function keysUnder(
  bucket: S3Bucket,
  prefix: string,
): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
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
    });
    for (const [, item] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const key = xmlValue(item!, "Key");
      const at = Date.parse(xmlValue(item!, "LastModified") ?? "");
      if (key !== undefined) keys.set(key, at);
    }
    token = xmlValues(xml, "IsTruncated")[0] === "true"
      ? xmlValue(xml, "NextContinuationToken")
      : undefined;
  } while (token !== undefined);
  return keys;
}
