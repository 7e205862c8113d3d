/**
 * A multipart upload gone from under its parts: removed by another than
 * this service (its bucket deleted with `--purge-objects`, a lifecycle
 * rule's `AbortIncompleteMultipartUpload`, an operator's abort), so a part
 * PUT is refused 404 `NoSuchUpload` (radosgw: `NoSuchKey`, the upload's
 * meta object being gone). Nothing of the upload can be kept, and the
 * service is sound: the store's state, answered 503 as such, where it was
 * an unknown refusal and a 500 (the bucket deleted under an upload in
 * flight, tests/s3_bucket_missing_test.ts, 2 runs of 5 under load). Why it
 * is gone is asked of the store: a listing of no keys names the bucket
 * missing, and the upload then answers so.
 *
 * @module
 */

import type { S3Bucket } from "./s3_bucket.ts";
import { S3Error } from "./s3_errors.ts";
import { NO_KEYS } from "./s3_listing.ts";
import { StorageUnavailableError } from "./storage.ts";

/** The codes of a part PUT whose multipart upload is no more. */
const GONE = new Set(["NoSuchUpload", "NoSuchKey"]);

/**
 * The error to throw for a part of upload `id` refused with `error`: when
 * its multipart upload is gone, the bucket's own failure if the bucket
 * does not serve (e.g. missing), else a {@linkcode StorageUnavailableError}
 * saying the upload went; any other `error` as it is.
 */
export async function partRefusal(
  error: unknown,
  bucket: S3Bucket,
  id: string,
): Promise<unknown> {
  const gone = error instanceof S3Error && error.status === 404 &&
    GONE.has(error.code ?? "");
  if (!gone) return error;
  try {
    await bucket.run(NO_KEYS);
  } catch (cause) {
    if (cause instanceof StorageUnavailableError) return cause;
  }
  return new StorageUnavailableError(
    `The object store no longer has the multipart upload of ${id} ` +
      `(aborted by another than this service): ${error.message}`,
    { cause: error },
  );
}
