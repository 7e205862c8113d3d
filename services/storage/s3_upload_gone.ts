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
 * Aborted after the last part, its `CompleteMultipartUpload` is refused
 * too: 404 `NoSuchUpload` (AWS), or 500 `InternalError` (radosgw 19).
 * That was a 500 to the client, or the store called down
 * (`files.storage_down`, `/readyz` 503) for a store that serves: a
 * ListParts of the upload tells which.
 *
 * @module
 */

import type { S3Bucket } from "./s3_bucket.ts";
import { S3Error, textOf } from "./s3_errors.ts";
import { NO_KEYS } from "./s3_listing.ts";
import { xmlValue } from "./s3_xml.ts";
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

/** The multipart upload a completion was refused for. */
export interface CompletedUpload {
  /** Its object key. */
  key: string;
  /** S3's id of the multipart upload. */
  uploadId: string;
  /** The file id it is stored under. */
  id: string;
}

/**
 * The error to throw for the completion of `upload` answered `res` (a 404
 * or a 500): {@linkcode partRefusal}'s when the multipart upload is gone
 * (said by the answer, or by a ListParts of it), else the answer's own:
 * a 500 the store unavailable, a 404 an unknown refusal.
 */
export async function completionRefusal(
  res: Response,
  bucket: S3Bucket,
  upload: CompletedUpload,
): Promise<unknown> {
  const code = xmlValue(await textOf(res), "Code");
  const answer = `${res.status} ${code ?? ""} to POST`;
  const error = res.status === 404
    ? new S3Error(404, code, `The object store answered ${answer}`)
    : new StorageUnavailableError(`The object store answered ${answer}`);
  if (res.status === 404 && GONE.has(code ?? "")) {
    return await partRefusal(error, bucket, upload.id);
  }
  const parts = await bucket.send({
    method: "GET",
    key: upload.key,
    query: { uploadId: upload.uploadId, "max-parts": "1" },
    expect: [404],
  });
  const listed = xmlValue(await textOf(parts), "Code");
  if (parts.status !== 404 || !GONE.has(listed ?? "")) return error;
  return await partRefusal(new S3Error(404, listed, answer), bucket, upload.id);
}
